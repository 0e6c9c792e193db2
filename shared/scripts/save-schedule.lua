-- save-schedule: creates or replaces a recurring job's schedule, due next at
-- the time its caller computed (cron and time zones are parsed in TypeScript,
-- with croner), and tells the workers so that an idle one wakes for it.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] schedule name
-- ARGV[4] spec, JSON { queue, task, args, options, cron?, tz?, everyMs? }
-- ARGV[5] when it next fires, epoch ms
-- Returns { created = true when there was no schedule of that name }
--- @include "keys"

local now, name = tonumber(ARGV[2]), ARGV[3]
local spec = cjson.decode(ARGV[4])
local key = K.schedule(name)
local old = redis.call('HGET', key, 'spec')
if old then redis.call('ZREM', K.queueSchedules(cjson.decode(old).queue), name) end
redis.call('HSET', key, 'spec', ARGV[4], 'updatedAt', now)
redis.call('HSETNX', key, 'createdAt', now)
redis.call('ZADD', K.queueSchedules(spec.queue), 0, name)
redis.call('ZADD', K.queues(), 'NX', 0, spec.queue)
redis.call('ZADD', K.schedules(), tonumber(ARGV[5]), name)
redis.call('PUBLISH', K.schedulesChanged(), name)
return cjson.encode({ created = not old })
