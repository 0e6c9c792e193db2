--- @include "keys"
--- @include "limits"
--- @include "resume_wait"

-- Resumes a queue's waits whose timeoutMs has passed, with null, a bounded
-- number per call; answers how many, whether more are due, and when the
-- earliest left runs out (nil: none).
local function resume_due_waits(queue, now)
  local key = K.registry('awaiting', queue)
  local first = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
  if not first or first > now then return 0, false, first end
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, LIMITS.batch)
  for _, id in ipairs(due) do resume_wait(id, queue, now, 'null') end
  return #due, #due == LIMITS.batch, tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
end
