-- remove-schedule: deletes a schedule; the jobs it already made stay.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] schedule name
-- Returns { removed = false when there was no such schedule }
--- @include "keys"

local name = ARGV[2]
local spec = redis.call('HGET', K.schedule(name), 'spec')
if not spec then return cjson.encode({ removed = false }) end
redis.call('ZREM', K.queueSchedules(cjson.decode(spec).queue), name)
redis.call('DEL', K.schedule(name))
redis.call('ZREM', K.schedules(), name)
redis.call('PUBLISH', K.schedulesChanged(), name)
return cjson.encode({ removed = true })
