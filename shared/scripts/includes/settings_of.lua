--- @include "keys"

-- The settings of each queue (paused, limit, concurrency), in one read for
-- however many queues: a table by queue name, empty for a queue with none.
local function settings_of(queues)
  local raw = redis.call('HMGET', K.settings(), unpack(queues))
  local out = {}
  for i, queue in ipairs(queues) do
    out[queue] = raw[i] and cjson.decode(raw[i]) or {}
  end
  return out
end
