--- @include "keys"

-- Idle workers block on a queue's wake list; it holds at most one element,
-- so enqueuing many jobs costs no more than one. Only a worker's pop takes
-- the element, never a script: once armed in a call, a queue stays armed
-- until the call returns, and is not looked at again. `worth`, when given,
-- is asked only when the marker is missing (a busy queue's is mostly there),
-- so that what it reads to tell whether a worker should wake costs nothing
-- the rest of the time.
local armed = {}
local function arm(queue, worth)
  if armed[queue] then return end
  if redis.call('LLEN', K.wake(queue)) == 0 then
    if worth and not worth() then return end
    redis.call('RPUSH', K.wake(queue), '1')
  end
  armed[queue] = true
end
