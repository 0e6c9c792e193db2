-- suspend: a durable task's job leaves its worker, whose slot is free at
-- once, until it may go on: started -> scheduled for a sleep (ctx.sleep),
-- queued again when due by the claim that promotes due jobs, its sleep
-- recorded as a step now so that its replay goes past it; started -> awaiting
-- for an event (ctx.waitForEvent), until send-event brings the event or its
-- timeout passes (the wait's step is recorded then, with the event's data or
-- null). Resuming is not an attempt: the count the claim added is taken back.
-- Written only while the worker still holds the job.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] worker name (the job must still be held by it)
-- ARGV[4] the claim it holds the job by (its lease token)
-- ARGV[5] now, epoch ms
-- ARGV[6] step id of the sleep
-- ARGV[7] until, epoch ms: the sleep's end, or the wait's timeout
-- ARGV[8] the event waited for ('' for a sleep)
-- ARGV[9] the event's key waited for ('' for any)
-- Returns { ok = true, n = its place among the steps } or { ok = false,
-- error = 'lost' | 'recorded' | 'too_many' } having changed nothing
--- @include "keys"
--- @include "limits"
--- @include "owned_job"
--- @include "move"
--- @include "arm"
--- @include "leave_started"
--- @include "schedule"
--- @include "settings_of"

local id, worker, now, step, until_at, event = ARGV[2], ARGV[3], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local queue = owned_job(id, worker, ARGV[4])
if not queue then return cjson.encode({ ok = false, error = 'lost' }) end
local steps = K.steps(id)
if redis.call('HEXISTS', steps, step) == 1 then return cjson.encode({ ok = false, error = 'recorded' }) end
local n = (tonumber(redis.call('HGET', K.job(id), 'steps')) or 0) + 1
if n > LIMITS.max_steps then return cjson.encode({ ok = false, error = 'too_many' }) end
leave_started(id, queue)
redis.call('HINCRBY', K.job(id), 'attempts', -1)
redis.call('HDEL', K.job(id), 'workerName')
if event ~= '' then
  local settings = settings_of({ queue })[queue]
  -- claims look for waits that ran out only in queues that have had one
  if not settings.waits then
    settings.waits = true
    redis.call('HSET', K.settings(), queue, cjson.encode(settings))
  end
  redis.call('SADD', K.eventWaiters(queue, event, ARGV[9]), id)
  redis.call('ZADD', K.registry('awaiting', queue), until_at, id)
  local wait = { 'waitEvent', event, 'waitKey', ARGV[9], 'waitStep', step, 'waitSince', now, 'waitUntil', until_at }
  move(id, queue, 'started', 'awaiting', unpack(wait))
  -- wake an idle worker so it sizes its blocking wait to the new timeout
  arm(queue)
  return cjson.encode({ ok = true, n = n })
end
local entry = '{"n":' .. n .. ',"startedAt":' .. now .. ',"endedAt":' .. until_at .. ',"result":null}'
redis.call('HSET', steps, step, entry)
schedule(id, queue, 'started', until_at, 'steps', n)
return cjson.encode({ ok = true, n = n })
