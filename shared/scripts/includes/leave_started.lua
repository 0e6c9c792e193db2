--- @include "keys"
--- @include "arm"
--- @include "settings_of"

-- A job leaves the started registries (its queue's and the fleet's leases).
-- A queue whose fleet-wide concurrency is capped now has room for one more:
-- its idle workers are woken, since no claim re-arms a queue at its cap.
local function leave_started(id, queue)
  redis.call('ZREM', K.registry('started', queue), id)
  redis.call('ZREM', K.leases(), id)
  if settings_of({ queue })[queue].concurrency and redis.call('ZCARD', K.waiting(queue)) > 0 then
    arm(queue)
  end
end
