--- @include "keys"
--- @include "requeue_waiting"

-- A job that waits for an event (ctx.waitForEvent) goes on: the event's data
-- (or null, when its timeoutMs passed first) is recorded as the wait's step,
-- so that its replay gets it, and the job is queued again.
local function resume_wait(id, queue, now, data)
  local key = K.job(id)
  local f = redis.call('HMGET', key, 'waitEvent', 'waitKey', 'waitStep', 'waitSince', 'steps')
  redis.call('ZREM', K.registry('awaiting', queue), id)
  redis.call('SREM', K.eventWaiters(queue, f[1], f[2] or ''), id)
  local n = (tonumber(f[5]) or 0) + 1
  local entry = '{"n":' .. n .. ',"startedAt":' .. f[4] .. ',"endedAt":' .. now .. ',"result":' .. data .. '}'
  redis.call('HSET', K.steps(id), f[3], entry)
  redis.call('HDEL', key, 'waitEvent', 'waitKey', 'waitStep', 'waitSince', 'waitUntil')
  redis.call('HSET', key, 'steps', n)
  requeue_waiting(id, queue, 'awaiting', now)
end
