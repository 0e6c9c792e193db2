--- @include "keys"
--- @include "statuses"
--- @include "job_get"
--- @include "move"
--- @include "to_terminal"
--- @include "schedule"
--- @include "push_waiting"

-- Creates one job from an enqueue spec (its hash fields, queue, runAt,
-- atFront, priority, dependsOn; see enqueue.lua): queued, scheduled until
-- runAt, deferred until its dependencies finish, or canceled at once when
-- one of them did not. Answers the fields the script decided.
local function create_job(spec, now)
  local id, queue = spec.id, spec.queue
  redis.call('HSET', K.job(id), unpack(spec.fields))
  redis.call('ZADD', K.queues(), 'NX', 0, queue)
  local waiting = 0
  for _, dep in ipairs(spec.dependsOn or {}) do
    local status = job_get(dep, 'status')
    if STATUS.unsuccessful[status] then
      waiting = -1
      break
    elseif status ~= 'finished' then
      redis.call('SADD', K.dependencies(id), dep)
      redis.call('SADD', K.dependents(dep), id)
      waiting = waiting + 1
    end
  end
  if waiting < 0 then
    redis.call('DEL', K.dependencies(id))
    local err = cjson.encode({ name = 'DependencyFailedError', message = 'a dependency did not finish' })
    to_terminal(id, queue, nil, 'canceled', now, { 'error', err })
  elseif waiting > 0 then
    -- runAt is kept for when the last dependency finishes
    if spec.runAt then
      move(id, nil, 'deferred', 'runAt', spec.runAt)
    else
      move(id, nil, 'deferred')
    end
    redis.call('ZADD', K.registry('deferred', queue), now, id)
  elseif spec.runAt and tonumber(spec.runAt) > now then
    schedule(id, queue, nil, spec.runAt)
  else
    push_waiting(id, queue, nil, now, spec.atFront, spec.priority)
  end
  -- the caller has every other field: echoing args back would double the bytes
  local f = redis.call('HMGET', K.job(id), 'status', 'enqueuedAt', 'error')
  return { status = f[1], enqueuedAt = f[2] or nil, error = f[3] or nil }
end
