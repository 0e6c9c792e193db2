--- @include "keys"
--- @include "settings_of"

-- The policies read in this call, by queue and group: a claim reads a
-- group's policy when the group takes its turn and again when its job starts.
local policies_read = {}

-- A group's policy: the queue's default (settings.groups), overridden field
-- by field by the group's own.
local function policy_of(queue, group)
  local read = policies_read[queue] or {}
  policies_read[queue] = read
  if read[group] then return read[group] end
  local policy = {}
  for field, value in pairs(settings_of({ queue })[queue].groups or {}) do policy[field] = value end
  local own = redis.call('HGET', K.groupPolicies(queue), group)
  if own then
    for field, value in pairs(cjson.decode(own)) do policy[field] = value end
  end
  read[group] = policy
  return policy
end
