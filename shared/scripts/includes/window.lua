-- A sliding window of starts (limit = { max, perMs }) kept in a sorted set
-- of start times: how many more starts it allows now, and, when it allows
-- none, when it opens again. A queue's limit and a group's use the same.
local function window_room(key, limit, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - limit.perMs)
  local starts = redis.call('ZCARD', key)
  if starts >= limit.max then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return 0, tonumber(oldest[2]) + limit.perMs
  end
  return limit.max - starts, nil
end
