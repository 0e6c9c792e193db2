-- invoke: a durable task invokes a child job (ctx.invoke) and waits for it
-- without holding its worker: the child is made once, under the id
-- "<parent>:<step>", however often the parent replays, with its parent named
-- in its hash; the parent goes started -> deferred until the child ends,
-- when the child's ending records its outcome as the parent's step and
-- queues the parent again (includes/resume_parent.lua). A child that has
-- ended already (the parent replays after it) has its outcome recorded
-- at once, and the parent is queued again at once to replay past it.
-- Written only while the worker still holds the parent.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] parent job id
-- ARGV[3] worker name (the parent must still be held by it)
-- ARGV[4] the claim it holds the job by (its lease token)
-- ARGV[5] now, epoch ms
-- ARGV[6] step id
-- ARGV[7] the child, an enqueue spec as JSON (see enqueue.lua), its id "<parent>:<step>"
-- Returns { ok = true } (the parent left its worker) or { ok = false, error =
-- 'lost' | 'recorded' | 'too_many' | 'id_in_other_queue' } having changed nothing
--- @include "keys"
--- @include "limits"
--- @include "statuses"
--- @include "owned_job"
--- @include "leave_started"
--- @include "move"
--- @include "create_job"
--- @include "resume_parent"

local id, worker, now, step = ARGV[2], ARGV[3], tonumber(ARGV[5]), ARGV[6]
local spec = cjson.decode(ARGV[7])
local queue = owned_job(id, worker, ARGV[4])
if not queue then return cjson.encode({ ok = false, error = 'lost' }) end
if redis.call('HEXISTS', K.steps(id), step) == 1 then return cjson.encode({ ok = false, error = 'recorded' }) end
if (tonumber(redis.call('HGET', K.job(id), 'steps')) or 0) >= LIMITS.max_steps then
  return cjson.encode({ ok = false, error = 'too_many' })
end
local child = redis.call('HMGET', K.job(spec.id), 'status', 'queue', 'result', 'error')
if child[1] and child[2] ~= spec.queue then return cjson.encode({ ok = false, error = 'id_in_other_queue' }) end
leave_started(id, queue)
redis.call('HINCRBY', K.job(id), 'attempts', -1)
redis.call('HDEL', K.job(id), 'workerName')
move(id, queue, 'started', 'deferred', 'waitFor', spec.id)
redis.call('ZADD', K.registry('deferred', queue), now, id)
if not child[1] then
  table.insert(spec.fields, 'parent')
  table.insert(spec.fields, id)
  table.insert(spec.fields, 'parentStep')
  table.insert(spec.fields, step)
  create_job(spec, now)
  return cjson.encode({ ok = true })
end
if STATUS.terminal[child[1]] then
  -- ended before this replay: the parent is queued again with the outcome, and the worker runs it on
  resume_parent(id, step, spec.id, now, { 'result', child[3] or 'null', 'error', child[4] })
  return cjson.encode({ ok = true })
end
redis.call('HSET', K.job(spec.id), 'parent', id, 'parentStep', step)
return cjson.encode({ ok = true })
