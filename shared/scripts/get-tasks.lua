-- get-tasks: the tasks the workers of some queues declared, as stored; the
-- caller leaves out the stale ones (declare-tasks drops them later).
-- KEYS the tasks hash of each queue named, in order: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] queue names, comma-separated
-- Returns JSON: one flat list per queue, in the order named: task name, declaration (JSON text), …
-- (JSON, not a nested reply: @upstash/redis would parse each string that looks like JSON, names included)
--- @key-locking
--- @include "keys"
--- @include "split"

local out = {}
for _, queue in ipairs(split(ARGV[2])) do
  table.insert(out, redis.call('HGETALL', K.tasks(queue)))
end
return cjson.encode(out)
