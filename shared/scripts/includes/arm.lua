--- @include "keys"

-- Idle workers block on a queue's wake list; it holds at most one element,
-- so enqueuing many jobs costs no more than one.
local function arm(queue)
  if redis.call('LLEN', K.wake(queue)) == 0 then
    redis.call('RPUSH', K.wake(queue), '1')
  end
end
