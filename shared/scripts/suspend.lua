-- suspend: started -> scheduled for a durable task that sleeps (ctx.sleep):
-- the job leaves its worker, whose slot is free at once, and is queued again
-- when it is due, by the claim that promotes due jobs. Its sleep is
-- recorded as a step in the same call, so that its replay goes past it; and
-- resuming is not an attempt: the count the claim added is taken back.
-- Written only while the worker still holds the job.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] worker name (the job must still be held by it)
-- ARGV[4] now, epoch ms
-- ARGV[5] step id of the sleep
-- ARGV[6] until, epoch ms
-- Returns { ok = true, n = its place among the steps } or { ok = false,
-- error = 'lost' | 'recorded' | 'too_many' } having changed nothing
--- @include "keys"
--- @include "limits"
--- @include "owned_job"
--- @include "leave_started"
--- @include "schedule"

local id, worker, now, step, until_at = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local queue = owned_job(id, worker)
if not queue then return cjson.encode({ ok = false, error = 'lost' }) end
local steps = K.steps(id)
if redis.call('HEXISTS', steps, step) == 1 then return cjson.encode({ ok = false, error = 'recorded' }) end
local n = (tonumber(redis.call('HGET', K.job(id), 'steps')) or 0) + 1
if n > LIMITS.max_steps then return cjson.encode({ ok = false, error = 'too_many' }) end
local entry = '{"n":' .. n .. ',"startedAt":' .. now .. ',"endedAt":' .. until_at .. ',"result":null}'
redis.call('HSET', steps, step, entry)
leave_started(id, queue)
redis.call('HINCRBY', K.job(id), 'attempts', -1)
redis.call('HDEL', K.job(id), 'workerName')
schedule(id, queue, 'started', until_at, 'steps', n)
return cjson.encode({ ok = true, n = n })
