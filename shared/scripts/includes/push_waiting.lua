--- @include "keys"
--- @include "arm"
--- @include "move"

-- Puts a job at the back of its queue (at the front with at_front).
local function push_waiting(id, queue, from, now, at_front)
  move(id, from, 'queued', 'enqueuedAt', now)
  if at_front then
    redis.call('LPUSH', K.queue(queue), id)
  else
    redis.call('RPUSH', K.queue(queue), id)
  end
  arm(queue)
end
