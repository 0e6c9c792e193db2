--- @include "keys"
--- @include "limits"

-- Dependents one script call may cancel or release, summed over every job
-- it ends: past it, the parents wait in the cascade list for maintenance,
-- so neither one fan-out nor many small ones make a single call long.
local cascade_budget = LIMITS.batch

-- Leaves the rest of a parent's dependents to a later maintenance pass.
local function cascade_later(kind, id)
  redis.call('RPUSH', K.cascade(), kind .. ':' .. id)
end
