-- fire-schedule: enqueues the job of one tick of a schedule and moves the
-- schedule to its next tick, if the schedule is still due at the time the
-- caller saw: of workers racing on one tick, one fires it. The job's id is
-- made from the schedule and the tick, so even a worker restarted mid-tick
-- cannot make a second job for it.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] schedule name
-- ARGV[4] when the caller saw it due (its score then)
-- ARGV[5] the tick fired, epoch ms
-- ARGV[6] the next tick, epoch ms ('' when there is none)
-- ARGV[7] the job, as one enqueue spec (see enqueue.lua), with its id
-- Returns { fired = false when another worker fired it first, jobId }
--- @include "keys"
--- @include "job_get"
--- @include "create_job"

local now, name = tonumber(ARGV[2]), ARGV[3]
if redis.call('ZSCORE', K.schedules(), name) ~= ARGV[4] then return cjson.encode({ fired = false }) end
local spec = cjson.decode(ARGV[7])
if not job_get(spec.id, 'queue') then create_job(spec, now) end
redis.call('HSET', K.schedule(name), 'lastAt', ARGV[5], 'lastJobId', spec.id)
if ARGV[6] ~= '' then
  redis.call('ZADD', K.schedules(), tonumber(ARGV[6]), name)
else
  redis.call('ZREM', K.schedules(), name)
end
return cjson.encode({ fired = true, jobId = spec.id })
