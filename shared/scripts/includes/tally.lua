--- @include "keys"

-- Keeps a group's load (waiting + started jobs) in the queue's index of
-- groups; a group with no load and no policy of its own leaves it.
local function tally(queue, group, delta)
  local load = tonumber(redis.call('ZINCRBY', K.groups(queue), delta, group))
  if load <= 0 and redis.call('HEXISTS', K.groupPolicies(queue), group) == 0 then
    redis.call('ZREM', K.groups(queue), group)
  end
end
