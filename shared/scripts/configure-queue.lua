-- configure-queue: changes a queue's settings, which every claim across the
-- fleet reads: paused (no worker claims from it; it still takes jobs), limit
-- ({ max, perMs }: at most max starts in any window of perMs) and concurrency
-- (at most this many started at once), and groups (the default policy of
-- each group of a grouped queue: { concurrency?, limit? }). A field set to
-- null is removed. A
-- queue that may start jobs again gets its wake marker, so idle workers come.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] queue name
-- ARGV[3] the settings to change, a JSON object
-- Returns { settings = the queue's settings now }
--- @include "keys"
--- @include "arm"
--- @include "has_waiting"

local queue = ARGV[2]
local current = redis.call('HGET', K.settings(), queue)
local settings = current and cjson.decode(current) or {}
for field, value in pairs(cjson.decode(ARGV[3])) do
  -- grouped and waits say the queue turned grouped, or had a job wait for an event: the scripts' own
  if field ~= 'grouped' and field ~= 'waits' then
    if value == cjson.null or value == false then settings[field] = nil else settings[field] = value end
  end
end
if next(settings) then
  redis.call('HSET', K.settings(), queue, cjson.encode(settings))
else
  redis.call('HDEL', K.settings(), queue)
end
redis.call('ZADD', K.queues(), 'NX', 0, queue)
if not settings.paused and has_waiting(queue) then arm(queue) end
return cjson.encode({ settings = settings })
