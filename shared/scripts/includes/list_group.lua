--- @include "keys"

-- Groups within a queue (see shared/keys.ts): a queue turns grouped with its
-- first grouped job and stays so; from then on claims take turns across
-- groups from the groupsReady list, where '' stands for the jobs without a
-- group (kept in the queue's own waiting set). '' is listed for good, so
-- that a job without a group costs no more to enqueue than before.

-- Puts a group in the rotation unless it is there; answers whether it was not.
local function list_group(queue, group)
  if redis.call('SADD', K.groupsListed(queue), group) == 0 then return false end
  redis.call('RPUSH', K.groupsReady(queue), group)
  return true
end
