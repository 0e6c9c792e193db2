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
-- one of them did not. The hash is written with the status, in one HSET.
-- Answers the fields the script decided (the caller has the others).
local registered = {}
local function register(queue)
  -- a batch names its queue once
  if not registered[queue] then
    registered[queue] = true
    redis.call('ZADD', K.queues(), 'NX', 0, queue)
  end
end

local function create_job(spec, now)
  local id, queue, fields = spec.id, spec.queue, spec.fields
  -- `marked`: the hash says which of the job's other keys it has (attemptsKept
  -- when it kept an attempt, dependents when a job waits for it), so that its
  -- ending touches only those; a job of an older version has no such marks
  table.insert(fields, 'marked')
  table.insert(fields, '1')
  local waiting = 0
  for _, dep in ipairs(spec.dependsOn or {}) do
    local status = job_get(dep, 'status')
    if STATUS.unsuccessful[status] then
      waiting = -1
      break
    elseif status ~= 'finished' then
      redis.call('SADD', K.dependencies(id), dep)
      redis.call('SADD', K.dependents(dep), id)
      -- its ending looks for dependents only when it has had some
      redis.call('HSET', K.job(dep), 'dependents', '1')
      waiting = waiting + 1
    end
  end
  if waiting < 0 then
    register(queue)
    redis.call('DEL', K.dependencies(id))
    -- to_terminal reads the job's TTLs from its hash
    redis.call('HSET', K.job(id), unpack(fields))
    local err = cjson.encode({ name = 'DependencyFailedError', message = 'a dependency did not finish' })
    to_terminal(id, queue, nil, 'canceled', now, { 'error', err })
    return { status = 'canceled', error = err }
  elseif waiting > 0 then
    register(queue)
    -- runAt is kept for when the last dependency finishes
    if spec.runAt then
      table.insert(fields, 'runAt')
      table.insert(fields, spec.runAt)
    end
    move(id, queue, nil, 'deferred', unpack(fields))
    redis.call('ZADD', K.registry('deferred', queue), now, id)
    return { status = 'deferred' }
  elseif spec.runAt and tonumber(spec.runAt) > now then
    register(queue)
    schedule(id, queue, nil, spec.runAt, unpack(fields))
    return { status = 'scheduled' }
  end
  -- a queue's arrivals are counted from its registration on (recovery drops both together)
  if push_waiting(id, queue, nil, now, spec.atFront, spec.priority, spec.group, unpack(fields)) then register(queue) end
  return { status = 'queued', enqueuedAt = now }
end
