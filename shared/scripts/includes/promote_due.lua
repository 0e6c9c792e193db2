--- @include "keys"
--- @include "limits"
--- @include "requeue_waiting"

-- Moves a queue's due scheduled jobs to its waiting set, a bounded number per
-- call; answers how many, whether more are due, and when the earliest one
-- left falls due (nil: none). Most calls find nothing due: one read then.
local function promote_due(queue, now)
  local key = K.registry('scheduled', queue)
  local first = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
  if not first or first > now then return 0, false, first end
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, LIMITS.batch)
  for _, id in ipairs(due) do
    redis.call('ZREM', key, id)
    requeue_waiting(id, queue, 'scheduled', now)
  end
  return #due, #due == LIMITS.batch, tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
end
