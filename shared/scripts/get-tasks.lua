-- get-tasks: the tasks the workers of some queues declared, as stored; the
-- caller leaves out the stale ones (declare-tasks drops them later).
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] queue names, comma-separated
-- Returns JSON: one flat list per queue, in the order named: task name, declaration (JSON text), …
-- (JSON, not a nested reply: @upstash/redis would parse each string that looks like JSON, names included)
--- @include "keys"
--- @include "split"

local out = {}
for _, queue in ipairs(split(ARGV[2])) do
  table.insert(out, redis.call('HGETALL', K.tasks(queue)))
end
return cjson.encode(out)
