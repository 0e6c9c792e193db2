--- @include "keys"

-- Idle workers block on a queue's wake list; it holds at most one element,
-- so enqueuing many jobs costs no more than one. Only a worker's pop takes
-- the element, never a script: once armed in a call, a queue stays armed
-- until the call returns, and is not looked at again.
local armed = {}
local function arm(queue)
  if armed[queue] then return end
  armed[queue] = true
  if redis.call('LLEN', K.wake(queue)) == 0 then
    redis.call('RPUSH', K.wake(queue), '1')
  end
end
