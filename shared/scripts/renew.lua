-- renew: extends the leases of a worker's running jobs and records its
-- heartbeat, in one round trip however many jobs it runs.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] lease, ms
-- ARGV[4] worker name
-- ARGV[5] worker state, JSON object of string fields (queues, pid, host, state, …)
-- ARGV[6] how long the worker entry lives without another heartbeat, ms
-- ARGV[7..] per job the worker is running: its id, the claim it holds it by
-- A renewal is let through at maxmemory (see below): it grows nothing, and a
-- worker that cannot renew loses its jobs to recovery once memory is back.
-- Returns { stop = [ids whose stop was requested], lost = [ids it no longer holds],
-- outboxDueAt = when the earliest callback delivery is due, or nil }
--- @include "keys"
--- @include "job_get"
--- @include "owned_job"

local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local worker = ARGV[4]
local ttl = tonumber(ARGV[6])
local stop, lost = {}, {}

-- Redis refuses a script at maxmemory only at its first write, and only if
-- that command may grow memory (PEXPIRE does not): written first, it lets
-- the rest through, whose ZADD XX and HSET of the same fields grow nothing.
redis.call('PEXPIRE', K.worker(worker), ttl)

for i = 7, #ARGV, 2 do
  local id = ARGV[i]
  local queue = owned_job(id, worker, ARGV[i + 1])
  if queue then
    redis.call('ZADD', K.registry('started', queue), 'XX', now + lease, id)
    redis.call('ZADD', K.leases(), 'XX', now + lease, id)
    if job_get(id, 'stopRequested') == '1' then table.insert(stop, id) end
  else
    table.insert(lost, id)
  end
end

local state = cjson.decode(ARGV[5])
local fields = { 'heartbeat', now }
for field, value in pairs(state) do
  table.insert(fields, field)
  table.insert(fields, value)
end
redis.call('HSET', K.worker(worker), unpack(fields))
redis.call('PEXPIRE', K.worker(worker), ttl)
redis.call('ZADD', K.workers(), now + ttl, worker)
local due = redis.call('ZRANGE', K.outbox(), 0, 0, 'WITHSCORES')[2]
return cjson.encode({ stop = stop, lost = lost, outboxDueAt = tonumber(due) })
