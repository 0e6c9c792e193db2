--- @include "keys"
--- @include "arm"
--- @include "settings_of"
--- @include "list_group"
--- @include "tally"
--- @include "group_waiting"
--- @include "has_waiting"

-- A job leaves the started registries (its queue's and the fleet's leases),
-- and in a grouped queue its group's count. A queue whose fleet-wide
-- concurrency is capped now has room for one more: its idle workers are
-- woken, since no claim re-arms a queue at its cap; so is a group that left
-- the rotation (at its cap, say) while it has jobs waiting.
local function leave_started(id, queue)
  redis.call('ZREM', K.registry('started', queue), id)
  redis.call('ZREM', K.leases(), id)
  local settings = settings_of({ queue })[queue]
  if settings.grouped then
    local group = redis.call('HGET', K.job(id), 'group') or ''
    -- a job started before its queue turned grouped was never counted
    if redis.call('HINCRBY', K.groupActive(queue), group, -1) <= 0 then
      redis.call('HDEL', K.groupActive(queue), group)
    end
    if group ~= '' then tally(queue, group, -1) end
    if redis.call('EXISTS', group_waiting(queue, group)) == 1 and list_group(queue, group) then arm(queue) end
  end
  if settings.concurrency and has_waiting(queue) then arm(queue) end
end
