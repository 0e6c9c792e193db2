-- declare-tasks: a worker says which tasks it serves on its queues and what
-- arguments each takes, so that the edge can refuse a job no worker would
-- run before it is queued. Declarations older than the keep time are dropped
-- here, so a task no worker serves any more fades out of the queue.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] how long a declaration counts, ms
-- ARGV[4] queue names, comma-separated
-- ARGV[5..] task name, declaration (JSON text: { declaredAt, args }), … (the caller bounds their number)
-- Returns how many stale declarations were dropped
--- @include "keys"
--- @include "split"

local oldest = tonumber(ARGV[2]) - tonumber(ARGV[3])
local dropped = 0
for _, queue in ipairs(split(ARGV[4])) do
  local key = K.tasks(queue)
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if cjson.decode(fields[i + 1]).declaredAt < oldest then
      redis.call('HDEL', key, fields[i])
      dropped = dropped + 1
    end
  end
  if #ARGV > 4 then redis.call('HSET', key, unpack(ARGV, 5)) end
end
return dropped
