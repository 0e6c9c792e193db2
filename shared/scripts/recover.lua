-- recover: the maintenance pass, run by whichever worker takes the lock first
-- (about once a minute across the whole fleet). Every part does a bounded
-- amount of work; more = true says another pass should follow at once (the
-- lock is released for it):
--   - started jobs whose lease ran out are retried or failed with
--     AbandonedJobError (found in the fleet-wide leases set, whatever their
--     queue);
--   - dependents left over from a large fan-out are canceled or released;
--   - a share of the queues, resuming where the last pass stopped: due
--     scheduled jobs are queued, registry entries of expired jobs dropped, a
--     queue with jobs it may start gets its wake marker back (in case a worker
--     took the marker and died before claiming), and a queue with nothing in
--     it and no settings leaves the queues set (its counters and its event
--     stream go with it);
--   - worker entries whose heartbeat ran out are dropped.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] lock time, ms (the interval between passes)
-- Returns { ran = bool, recovered = n, promoted = n, more = bool }
--- @include "keys"
--- @include "statuses"
--- @include "limits"
--- @include "job_get"
--- @include "arm"
--- @include "promote_due"
--- @include "resume_due_waits"
--- @include "fail_or_retry"
--- @include "cancel_dependents"
--- @include "release_dependents"
--- @include "cascade"
--- @include "settings_of"
--- @include "room"
--- @include "list_group"
--- @include "has_waiting"

-- Queues visited per pass: each visit costs a few commands per status.
local QUEUES_PER_PASS = 50

local now = tonumber(ARGV[2])
-- at maxmemory Redis refuses the lock, the pass's first write: no pass then (nothing written), and the
-- heartbeat it rides with still renews the worker's leases
local lock = redis.pcall('SET', K.maintenanceLock(), '1', 'NX', 'PX', ARGV[3])
if not lock or lock.err then
  return cjson.encode({ ran = false, recovered = 0, promoted = 0, more = false })
end

local recovered, promoted = 0, 0
local err = cjson.encode({
  name = 'AbandonedJobError',
  message = 'its worker stopped renewing the lease (the worker died or lost Redis)',
})
local expired = redis.call('ZRANGEBYSCORE', K.leases(), '-inf', now, 'LIMIT', 0, LIMITS.batch)
for _, id in ipairs(expired) do
  if job_get(id, 'status') == 'started' then
    fail_or_retry(id, now, err, true)
    recovered = recovered + 1
  else
    redis.call('ZREM', K.leases(), id)
  end
end
local more = #expired == LIMITS.batch

-- each entry is a parent whose dependents are still to be canceled or
-- released; entries whose dependents went meanwhile cost no budget, hence
-- the cap on entries too
for _ = 1, LIMITS.batch do
  if cascade_budget == 0 then break end
  local entry = redis.call('LPOP', K.cascade())
  if not entry then break end
  local kind, parent = string.match(entry, '^(%a+):(.*)$')
  if kind == 'cancel' then cancel_dependents(parent, now) else release_dependents(parent, now) end
end
more = more or redis.call('LLEN', K.cascade()) > 0

-- Whether a queue holds nothing at all, and so may leave the queues set.
local function unused(queue)
  if has_waiting(queue) then return false end
  for _, status in ipairs(STATUS.registries) do
    if redis.call('ZCARD', K.registry(status, queue)) > 0 then return false end
  end
  return redis.call('HEXISTS', K.settings(), queue) == 0
end

local cursor = redis.call('GET', K.maintenanceCursor()) or '-'
local queues = redis.call('ZRANGEBYLEX', K.queues(), cursor, '+', 'LIMIT', 0, QUEUES_PER_PASS)
local settings = #queues > 0 and settings_of(queues) or {}
for _, queue in ipairs(queues) do
  local count, more_due = promote_due(queue, now)
  promoted = promoted + count
  more = more or more_due
  if settings[queue].waits then
    local resumed, more_waits = resume_due_waits(queue, now)
    promoted = promoted + resumed
    more = more or more_waits
  end
  for _, status in ipairs(STATUS.terminal_list) do
    local key = K.registry(status, queue)
    local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, LIMITS.batch)
    if #gone > 0 then redis.call('ZREM', key, unpack(gone)) end
    more = more or #gone == LIMITS.batch
  end
  if unused(queue) then
    redis.call('ZREM', K.queues(), queue)
    redis.call('HDEL', K.sequence(), queue)
    redis.call('DEL', K.stats(queue), K.queueEvents(queue))
  else
    -- jobs without a group are listed for good in a grouped queue (see includes/list_group.lua)
    if settings[queue].grouped then list_group(queue, '') end
    if has_waiting(queue) and room(queue, settings[queue], now) > 0 then arm(queue) end
  end
end
if #queues == QUEUES_PER_PASS then
  redis.call('SET', K.maintenanceCursor(), '(' .. queues[#queues])
  more = true
else
  redis.call('DEL', K.maintenanceCursor())
end

local dead = redis.call('ZRANGEBYSCORE', K.workers(), '-inf', now, 'LIMIT', 0, LIMITS.batch)
if #dead > 0 then redis.call('ZREM', K.workers(), unpack(dead)) end

if more then redis.call('DEL', K.maintenanceLock()) end
return cjson.encode({ ran = true, recovered = recovered, promoted = promoted, more = more })
