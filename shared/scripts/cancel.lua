-- cancel: queued | scheduled | deferred | awaiting -> canceled (jobs waiting for it are
-- canceled too); for a started job, marks a stop request and publishes it
-- to its worker (which also finds the mark at its next lease renewal, should
-- it miss the message).
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- Returns { status = status after the call, before = status before }, or
-- { error = 'not_found' } / { error = 'state', status } (finished, failed,
-- stopped) having changed nothing. Canceling a canceled job is a no-op.
--- @include "keys"
--- @include "to_terminal"
--- @include "cancel_dependents"
--- @include "unqueue"

local now = tonumber(ARGV[2])
local id = ARGV[3]
local key = K.job(id)
local f = redis.call('HMGET', key, 'status', 'queue', 'workerName', 'group', 'waitEvent', 'waitKey')
local status, queue = f[1], f[2]
if not status then return cjson.encode({ error = 'not_found' }) end

if status == 'started' then
  redis.call('HSET', key, 'stopRequested', '1')
  if f[3] then redis.call('PUBLISH', K.control(f[3]), id) end
  return cjson.encode({ status = 'started', before = status })
end
if status == 'queued' then
  unqueue(id, queue, f[4])
elseif status == 'awaiting' then
  redis.call('ZREM', K.registry(status, queue), id)
  redis.call('SREM', K.eventWaiters(queue, f[5], f[6] or ''), id)
elseif status == 'scheduled' or status == 'deferred' then
  redis.call('ZREM', K.registry(status, queue), id)
  redis.call('DEL', K.dependencies(id))
elseif status == 'canceled' then
  return cjson.encode({ status = status, before = status })
else
  return cjson.encode({ error = 'state', status = status })
end
local err = cjson.encode({ name = 'JobCanceledError', message = 'canceled before it started' })
to_terminal(id, queue, status, 'canceled', now, { 'error', err })
cancel_dependents(id, now)
return cjson.encode({ status = 'canceled', before = status })
