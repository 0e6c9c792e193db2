--- @include "keys"
--- @include "limits"
--- @include "requeue_waiting"

-- Moves a queue's due scheduled jobs to its waiting set, a bounded number per
-- call; answers how many, and whether more are due.
local function promote_due(queue, now)
  local key = K.registry('scheduled', queue)
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, LIMITS.batch)
  for _, id in ipairs(due) do
    redis.call('ZREM', key, id)
    requeue_waiting(id, queue, 'scheduled', now)
  end
  return #due, #due == LIMITS.batch
end
