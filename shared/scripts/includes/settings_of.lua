--- @include "keys"

-- The settings of each queue as this call read them: no script that reads
-- them in a hot path changes them, so one read a call is enough.
local settings_read = {}

-- The settings of each queue (paused, limit, concurrency), in one read for
-- however many queues not read before in this call: a table by queue name,
-- empty for a queue with none.
local function settings_of(queues)
  local unread = {}
  for _, queue in ipairs(queues) do
    if not settings_read[queue] then table.insert(unread, queue) end
  end
  if #unread > 0 then
    local raw = redis.call('HMGET', K.settings(), unpack(unread))
    for i, queue in ipairs(unread) do
      settings_read[queue] = raw[i] and cjson.decode(raw[i]) or {}
    end
  end
  local out = {}
  for _, queue in ipairs(queues) do out[queue] = settings_read[queue] end
  return out
end
