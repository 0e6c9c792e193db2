--- @include "keys"
--- @include "push_waiting"
--- @include "keep_attempt"

-- Puts a failed, stopped or canceled job back at the end of its queue as a
-- fresh start: attempts and error cleared, no expiry, the ended attempt kept
-- in its history. Its recorded steps stay, so that it goes on where it
-- failed rather than running them again, and its log lines stay with it.
local function requeue_ended(id, queue, status, now)
  local key = K.job(id)
  local kept = { keep_attempt(id, status, now, nil) }
  redis.call('ZREM', K.registry(status, queue), id)
  redis.call('PERSIST', key)
  redis.call('PERSIST', K.attempts(id))
  redis.call('HSET', key, 'attempts', 0, unpack(kept))
  redis.call('HDEL', key, 'error', 'result', 'startedAt', 'endedAt', 'stopRequested', 'runAt', 'workerName')
  local f = redis.call('HMGET', key, 'priority', 'group', 'steps', 'logs')
  if f[3] then redis.call('PERSIST', K.steps(id)) end
  if f[4] then redis.call('PERSIST', K.logs(id)) end
  push_waiting(id, queue, status, now, false, f[1], f[2])
end
