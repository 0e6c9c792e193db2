-- enqueue: creates jobs by calls, each atomically: all of a call or none.
-- A call is what one producer call asked for (a job, or a batch); calls
-- made at the same moment come in one script call, and are taken in order,
-- each as if it were alone.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] JSON array of calls, each { now = when it was made (epoch ms),
--         jobs = [ { id, queue, fields (flat hash fields), freshId? (made by
--         the producer, so taken by no job), runAt?, atFront?,
--         priority?, group?, dependsOn?, dependencyQueues? (the queues a
--         dependency may be in: a caller limited to some queues cannot reach
--         others' jobs), idempotencyKey?, fingerprint?, idempotencyTtlSec?,
--         debounce? = { key, delayMs, maxDelayMs? }, dedupe? = { key, ttlMs } } ] }
-- Returns, per call, { jobs = [ { created = true, set = fields the script
-- decided } | { created = false, job = the existing hash, debounced?,
-- deduplicated? } ] }, or { error = 'dependency_not_found' |
-- 'idempotency_conflict' | 'id_in_other_queue', id, at = index of the job in
-- the call (0-based) } having written nothing of that call.
--- @include "keys"
--- @include "job_get"
--- @include "job_table"
--- @include "create_job"
--- @include "gather"

local function reachable(dep, allowed)
  local queue = job_get(dep, 'queue')
  if not queue then return false end
  if not allowed then return true end
  for _, name in ipairs(allowed) do
    if name == queue then return true end
  end
  return false
end

-- Why a call must be refused, before anything of it is written; and for
-- each job, whether its id is taken (a job's hash always holds its queue).
local function refusal(specs, owners)
  for i, spec in ipairs(specs) do
    if spec.idempotencyKey then
      local existing = redis.call('HGET', K.idempotency(spec.queue, spec.idempotencyKey), 'fingerprint')
      if existing and existing ~= spec.fingerprint then
        return { error = 'idempotency_conflict', id = spec.idempotencyKey, at = i - 1 }
      end
    end
    -- an id taken in another queue must not hand that job to this caller
    local owner = not spec.freshId and job_get(spec.id, 'queue') or nil
    owners[i] = owner
    if owner and owner ~= spec.queue then
      return { error = 'id_in_other_queue', id = spec.id, at = i - 1 }
    end
    for _, dep in ipairs(spec.dependsOn or {}) do
      if not reachable(dep, spec.dependencyQueues) then
        return { error = 'dependency_not_found', id = dep, at = i - 1 }
      end
    end
  end
  return nil
end

local function enqueue(specs, now)
  local owners = {}
  local refused = refusal(specs, owners)
  if refused then return refused end
  local out = {}
  for i, spec in ipairs(specs) do
    local id = spec.id
    local replay = nil
    if spec.idempotencyKey then
      replay = redis.call('HGET', K.idempotency(spec.queue, spec.idempotencyKey), 'id')
    end
    local gathered = nil
    if spec.debounce then gathered = debounce_into(spec, now) elseif spec.dedupe then gathered = deduplicated(spec) end
    if replay and redis.call('EXISTS', K.job(replay)) == 1 then
      table.insert(out, { created = false, job = job_table(replay) })
    elseif gathered then
      table.insert(out, {
        created = false, job = gathered, debounced = spec.debounce ~= nil, deduplicated = spec.dedupe ~= nil,
      })
    elseif owners[i] then
      -- a client-chosen id names one job: enqueuing it again is a no-op
      table.insert(out, { created = false, job = job_table(id) })
    else
      if spec.idempotencyKey then
        local key = K.idempotency(spec.queue, spec.idempotencyKey)
        redis.call('HSET', key, 'id', id, 'fingerprint', spec.fingerprint)
        redis.call('EXPIRE', key, spec.idempotencyTtlSec)
      end
      hold_keys(spec, now)
      table.insert(out, { created = true, set = create_job(spec, now) })
    end
  end
  return { jobs = out }
end

local replies = {}
for _, call in ipairs(cjson.decode(ARGV[2])) do table.insert(replies, enqueue(call.jobs, call.now)) end
return cjson.encode(replies)
