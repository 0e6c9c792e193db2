-- requeue: failed | stopped | canceled -> queued, as a fresh start (attempts
-- and error cleared; the ended attempt is kept in the job's history). With a
-- worker name, instead puts that worker's started job back at the front of
-- its queue without counting the attempt: a cold shutdown is not the job's
-- fault.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name, or '' for a requeue by a user
-- ARGV[5] the claim it holds the job by (its lease token)
-- Returns { status = status after, before = status before }, or { error =
-- 'not_found' } / { error = 'state', status } having changed nothing
--- @include "keys"
--- @include "statuses"
--- @include "owned_job"
--- @include "leave_started"
--- @include "push_waiting"
--- @include "requeue_ended"

local now = tonumber(ARGV[2])
local id = ARGV[3]
local worker = ARGV[4]
local key = K.job(id)
local f = redis.call('HMGET', key, 'status', 'queue', 'priority', 'group')
local status, queue = f[1], f[2]
if not status then return cjson.encode({ error = 'not_found' }) end

if worker ~= '' then
  if not owned_job(id, worker, ARGV[5]) then return cjson.encode({ error = 'state', status = status }) end
  leave_started(id, queue)
  redis.call('HINCRBY', key, 'attempts', -1)
  redis.call('HDEL', key, 'workerName', 'startedAt')
  push_waiting(id, queue, status, now, true, f[3], f[4])
  return cjson.encode({ status = 'queued', before = status })
end

if not STATUS.unsuccessful[status] then
  return cjson.encode({ error = 'state', status = status })
end
requeue_ended(id, queue, status, now)
return cjson.encode({ status = 'queued', before = status })
