--- @include "keys"
--- @include "limits"
--- @include "job_table"
--- @include "unqueue"
--- @include "schedule"

-- Debounce and dedupe keys (options.debounce, options.dedupe): an enqueue
-- whose key names a job may answer that job instead of making one.

-- A field's value in a flat list of hash fields.
local function field_value(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- Gathers a debounced enqueue into the job its key names, while that job
-- waits and has never started: its args and meta become this call's, and its
-- start moves to delayMs from now (no later than maxDelayMs after the job was
-- made). Answers the job, or nil when a new job must be made.
local function debounce_into(spec, now)
  local d = spec.debounce
  local key = K.debounce(spec.queue, d.key)
  local id = redis.call('GET', key)
  if not id then return nil end
  local f = redis.call('HMGET', K.job(id), 'status', 'attempts', 'createdAt', 'group', 'queue')
  if (f[1] ~= 'queued' and f[1] ~= 'scheduled') or f[2] ~= '0' or f[5] ~= spec.queue then return nil end
  local at = now + d.delayMs
  if d.maxDelayMs then at = math.min(at, tonumber(f[3]) + d.maxDelayMs) end
  redis.call('HSET', K.job(id), 'args', field_value(spec.fields, 'args'), 'meta', field_value(spec.fields, 'meta'))
  if at > now then
    if f[1] == 'queued' then
      unqueue(id, spec.queue, f[4])
      schedule(id, spec.queue, 'queued', at)
    else
      redis.call('HSET', K.job(id), 'runAt', at)
      redis.call('ZADD', K.registry('scheduled', spec.queue), at, id)
    end
  end
  redis.call('PEXPIRE', key, math.max(at - now, 0) + LIMITS.debounce_grace_ms)
  return job_table(id)
end

-- The job a dedupe key answers with, within its window.
local function deduplicated(spec)
  local id = redis.call('GET', K.dedupe(spec.queue, spec.dedupe.key))
  return id and job_table(id) or nil
end

-- Keeps the new job's keys: the debounce key until the job may have started,
-- the dedupe key for its window. A debounced job starts delayMs from now.
local function hold_keys(spec, now)
  if spec.debounce then
    local longest = spec.debounce.maxDelayMs or spec.debounce.delayMs
    redis.call('SET', K.debounce(spec.queue, spec.debounce.key), spec.id, 'PX', longest + LIMITS.debounce_grace_ms)
    spec.runAt = now + spec.debounce.delayMs
  end
  if spec.dedupe then
    redis.call('SET', K.dedupe(spec.queue, spec.dedupe.key), spec.id, 'PX', spec.dedupe.ttlMs)
  end
end
