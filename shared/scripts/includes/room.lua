--- @include "keys"

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
    local key = K.rate(queue)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - settings.limit.perMs)
    local starts = redis.call('ZCARD', key)
    if starts >= settings.limit.max then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      return 0, tonumber(oldest[2]) + settings.limit.perMs
    end
    left = math.min(left, settings.limit.max - starts)
  end
  return left, nil
end
