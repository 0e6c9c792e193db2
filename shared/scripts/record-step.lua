-- record-step: a running task's step (ctx.step) recorded once, as soon as
-- its function returned, so that a later attempt or a resumption gets the
-- result without running it again. Written only while the worker still
-- holds the job: a worker whose lease ran out (a zombie) records nothing.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] worker name (the job must still be held by it)
-- ARGV[4] the claim it holds the job by (its lease token)
-- ARGV[5] step id
-- ARGV[6] the step's result, JSON text (checked by the worker)
-- ARGV[7] when the step began, epoch ms
-- ARGV[8] when it returned, epoch ms
-- Returns { ok = true, n = its place among the job's steps } or { ok = false,
-- error = 'lost' (the worker no longer holds the job) | 'recorded' (a step
-- with this id was) | 'too_many' (the job has LIMITS.max_steps) }
--- @include "keys"
--- @include "limits"
--- @include "owned_job"

local id, step = ARGV[2], ARGV[5]
if not owned_job(id, ARGV[3], ARGV[4]) then return cjson.encode({ ok = false, error = 'lost' }) end
local steps = K.steps(id)
if redis.call('HEXISTS', steps, step) == 1 then return cjson.encode({ ok = false, error = 'recorded' }) end
local n = (tonumber(redis.call('HGET', K.job(id), 'steps')) or 0) + 1
if n > LIMITS.max_steps then return cjson.encode({ ok = false, error = 'too_many' }) end
redis.call('HSET', K.job(id), 'steps', n)
local entry = '{"n":' .. n .. ',"startedAt":' .. ARGV[7] .. ',"endedAt":' .. ARGV[8] .. ',"result":' .. ARGV[6] .. '}'
redis.call('HSET', steps, step, entry)
redis.call('PUBLISH', K.events(id), '{"step":' .. cjson.encode(step) .. ',"n":' .. n .. '}')
return cjson.encode({ ok = true, n = n })
