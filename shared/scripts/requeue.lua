-- requeue: failed | stopped | canceled -> queued, as a fresh start (attempts
-- and error cleared). With a worker name, instead puts that worker's started
-- job back at the front of its queue without counting the attempt: a cold
-- shutdown is not the job's fault.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name, or '' for a requeue by a user
-- Returns { status = status after, before = status before }, or { error =
-- 'not_found' } / { error = 'state', status } having changed nothing
--- @include "keys"
--- @include "statuses"
--- @include "owned_job"
--- @include "push_waiting"

local now = tonumber(ARGV[2])
local id = ARGV[3]
local worker = ARGV[4]
local key = K.job(id)
local status = redis.call('HGET', key, 'status')
if not status then return cjson.encode({ error = 'not_found' }) end
local queue = redis.call('HGET', key, 'queue')

if worker ~= '' then
  if not owned_job(id, worker) then return cjson.encode({ error = 'state', status = status }) end
  redis.call('ZREM', K.registry('started', queue), id)
  redis.call('HINCRBY', key, 'attempts', -1)
  redis.call('HDEL', key, 'workerName', 'startedAt')
  push_waiting(id, queue, status, now, true)
  return cjson.encode({ status = 'queued', before = status })
end

if not STATUS.unsuccessful[status] then
  return cjson.encode({ error = 'state', status = status })
end
redis.call('ZREM', K.registry(status, queue), id)
redis.call('PERSIST', key)
redis.call('HSET', key, 'attempts', 0)
redis.call('HDEL', key, 'error', 'result', 'startedAt', 'endedAt', 'stopRequested', 'runAt')
push_waiting(id, queue, status, now, false)
return cjson.encode({ status = 'queued', before = status })
