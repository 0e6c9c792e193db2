--- @include "keys"
--- @include "window"

-- How many more jobs a queue may start now under its settings (paused: none;
-- concurrency: its cap less the jobs it has started across the fleet; limit:
-- at most max starts in any window of perMs), and, when the rate window is
-- what stops it, when the window opens again.
local function room(queue, settings, now)
  if settings.paused then return 0, nil end
  local left = math.huge
  if settings.concurrency then
    left = math.max(0, settings.concurrency - redis.call('ZCARD', K.registry('started', queue)))
  end
  if settings.limit then
    local starts_left, opens_at = window_room(K.rate(queue), settings.limit, now)
    if starts_left == 0 then return 0, opens_at end
    left = math.min(left, starts_left)
  end
  return left, nil
end
