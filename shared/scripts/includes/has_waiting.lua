--- @include "keys"

-- Whether a queue has waiting jobs, grouped or not.
local function has_waiting(queue)
  return redis.call('ZCARD', K.waiting(queue)) > 0 or redis.call('EXISTS', K.grouped(queue)) == 1
end
