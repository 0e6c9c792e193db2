--- @include "keys"
--- @include "tally"

-- Takes a queued job out of its waiting sets (a cancel, an emptying, a
-- debounced job put back on schedule).
local function unqueue(id, queue, group)
  if group and group ~= '' then
    redis.call('ZREM', K.groupWaiting(queue, group), id)
    redis.call('ZREM', K.grouped(queue), id)
    tally(queue, group, -1)
  else
    redis.call('ZREM', K.waiting(queue), id)
  end
end
