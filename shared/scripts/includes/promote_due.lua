--- @include "keys"
--- @include "job_get"
--- @include "push_waiting"

-- Moves due scheduled jobs of a queue to its waiting list.
local function promote_due(queue, now)
  local key = K.registry('scheduled', queue)
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', key, id)
    push_waiting(id, queue, 'scheduled', now, job_get(id, 'atFront') == '1')
  end
  return #due
end
