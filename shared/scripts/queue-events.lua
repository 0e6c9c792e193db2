-- queue-events: a page of a queue's event stream (GET /v1/queues/:queue/events,
-- Queue.events) after the entry a reader saw last. When that entry is no
-- longer in the stream but later ones are, the cap has trimmed it, and
-- perhaps entries the reader never saw: the page says so (gap) rather than
-- going on as if nothing was missed.
-- KEYS[1] the queue's event stream: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] queue name
-- ARGV[3] the id of the entry to read after; '' for none, to learn where the stream ends now; '0-0' from its start
-- ARGV[4] at most this many entries
-- Returns JSON { last = the id to read after next, gap = true or nil, events = { { id, event, data (JSON) }, … } }
--- @key-locking
--- @include "keys"

local key, after, count = K.queueEvents(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if after == '' then
  local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  return cjson.encode({ last = newest and newest[1] or '0-0', events = {} })
end
local entries, gap
if after == '0-0' then
  entries = redis.call('XRANGE', key, '-', '+', 'COUNT', count)
else
  -- from `after` itself: finding it first is what shows that nothing between was trimmed
  entries = redis.call('XRANGE', key, after, '+', 'COUNT', count + 1)
  if entries[1] and entries[1][1] == after then
    table.remove(entries, 1)
  elseif entries[1] then
    gap = true
    if #entries > count then table.remove(entries) end
  end
end
local events = {}
-- an entry's fields: 'event', its event, 'data', its JSON (includes/queue_event.lua)
for _, entry in ipairs(entries) do table.insert(events, { entry[1], entry[2][2], entry[2][4] }) end
local last = events[#events]
return cjson.encode({ last = last and last[1] or after, gap = gap, events = events })
