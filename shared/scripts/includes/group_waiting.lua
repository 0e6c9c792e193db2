--- @include "keys"

-- The sorted set a group's waiting jobs are in.
local function group_waiting(queue, group)
  return group == '' and K.waiting(queue) or K.groupWaiting(queue, group)
end
