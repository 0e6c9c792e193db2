--- @include "keys"
--- @include "settings_of"

-- A group's policy: the queue's default (settings.groups), overridden field
-- by field by the group's own.
local function policy_of(queue, group)
  local base = settings_of({ queue })[queue].groups or {}
  local own = redis.call('HGET', K.groupPolicies(queue), group)
  if not own then return base end
  local policy = {}
  for field, value in pairs(base) do policy[field] = value end
  for field, value in pairs(cjson.decode(own)) do policy[field] = value end
  return policy
end
