// Lua shared by the scripts: job moves that more than one transition makes.
// Prepended after the key helpers; ARGV[1] is always the key root.

export const luaIncludes = `
local function job_get(id, field)
  return redis.call('HGET', K.job(id), field)
end

local function hash_table(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function job_table(id)
  local flat = redis.call('HGETALL', K.job(id))
  if #flat == 0 then return nil end
  return hash_table(flat)
end

-- Idle workers block on a queue's wake list; it holds at most one element,
-- so enqueuing many jobs costs no more than one.
local function arm(queue)
  if redis.call('LLEN', K.wake(queue)) == 0 then
    redis.call('RPUSH', K.wake(queue), '1')
  end
end

local function push_waiting(id, queue, now, at_front)
  redis.call('HSET', K.job(id), 'status', 'queued', 'enqueuedAt', now)
  if at_front then
    redis.call('LPUSH', K.queue(queue), id)
  else
    redis.call('RPUSH', K.queue(queue), id)
  end
  arm(queue)
end

local function schedule(id, queue, run_at)
  redis.call('HSET', K.job(id), 'status', 'scheduled', 'runAt', run_at)
  redis.call('ZADD', K.registry('scheduled', queue), run_at, id)
  -- wake an idle worker so it sizes its blocking wait to the new due time
  arm(queue)
end

-- Moves due scheduled jobs of a queue to its waiting list.
local function promote_due(queue, now)
  local key = K.registry('scheduled', queue)
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', key, id)
    push_waiting(id, queue, now, job_get(id, 'atFront') == '1')
  end
  return #due
end

local TTL_FIELD = { finished = 'resultTtlSec', failed = 'failureTtlSec', stopped = 'failureTtlSec', canceled = 'failureTtlSec' }

-- Moves a job into a terminal registry; the job hash and its registry entry
-- both expire after the job's TTL for that outcome. 'fields' are set, 'drop'
-- removed, besides what every terminal job loses.
local function to_terminal(id, queue, status, now, fields, drop)
  local key = K.job(id)
  local ttl = tonumber(redis.call('HGET', key, TTL_FIELD[status]))
  local expires_at = now + ttl * 1000
  redis.call('HSET', key, 'status', status, 'endedAt', now, unpack(fields))
  redis.call('HDEL', key, 'stopRequested', 'workerName', unpack(drop or {}))
  redis.call('ZADD', K.registry(status, queue), expires_at, id)
  redis.call('PEXPIRE', key, ttl * 1000)
end

-- A job that will never finish takes the jobs waiting for it down with it,
-- transitively, so no deferred job waits forever.
local function cancel_dependents(id, now)
  local pending = { id }
  while #pending > 0 do
    local parent = table.remove(pending)
    local dependents = redis.call('SMEMBERS', K.dependents(parent))
    redis.call('DEL', K.dependents(parent))
    for _, child in ipairs(dependents) do
      local queue = job_get(child, 'queue')
      if queue and job_get(child, 'status') == 'deferred' then
        redis.call('ZREM', K.registry('deferred', queue), child)
        redis.call('DEL', K.dependencies(child))
        local err = cjson.encode({ name = 'DependencyFailedError', message = 'dependency ' .. parent .. ' did not finish' })
        to_terminal(child, queue, 'canceled', now, { 'error', err })
        table.insert(pending, child)
      end
    end
  end
end

local function release_dependents(id, now)
  local dependents = redis.call('SMEMBERS', K.dependents(id))
  if #dependents == 0 then return end
  redis.call('DEL', K.dependents(id))
  for _, child in ipairs(dependents) do
    redis.call('SREM', K.dependencies(child), id)
    local queue = job_get(child, 'queue')
    if queue and job_get(child, 'status') == 'deferred' and redis.call('SCARD', K.dependencies(child)) == 0 then
      redis.call('ZREM', K.registry('deferred', queue), child)
      local run_at = tonumber(job_get(child, 'runAt') or '0')
      if run_at > now then
        schedule(child, queue, run_at)
      else
        push_waiting(child, queue, now, job_get(child, 'atFront') == '1')
      end
    end
  end
end

-- The one place that decides between retry and failure for a started job:
-- used when a horse reports an error and when a lease runs out.
local function fail_or_retry(id, now, err, retryable)
  local key = K.job(id)
  local queue = redis.call('HGET', key, 'queue')
  redis.call('ZREM', K.registry('started', queue), id)
  if redis.call('HGET', key, 'stopRequested') == '1' then
    to_terminal(id, queue, 'stopped', now, { 'error', err })
    cancel_dependents(id, now)
    return 'stopped'
  end
  local attempts = tonumber(redis.call('HGET', key, 'attempts') or '0')
  local retry = redis.call('HGET', key, 'retry')
  if retryable and retry then
    retry = cjson.decode(retry)
    if attempts <= (retry.max or 0) then
      redis.call('HSET', key, 'error', err)
      redis.call('HDEL', key, 'workerName')
      local delay = 0
      local backoff = retry.backoff
      if backoff then
        delay = backoff.delayMs or 0
        if backoff.type == 'exponential' then delay = delay * math.pow(2, attempts - 1) end
      end
      if delay > 0 then
        schedule(id, queue, now + delay)
        return 'scheduled'
      end
      push_waiting(id, queue, now, false)
      return 'queued'
    end
  end
  to_terminal(id, queue, 'failed', now, { 'error', err })
  cancel_dependents(id, now)
  return 'failed'
end

-- The job if it is started and held by this worker, else nil: a worker whose
-- lease ran out must not overwrite what recovery decided.
local function owned_job(id, worker)
  local f = redis.call('HMGET', K.job(id), 'status', 'workerName', 'queue')
  if f[1] ~= 'started' or f[2] ~= worker then return nil end
  return f[3]
end

-- Takes up to want jobs for a worker from its queues in priority order (see
-- claim.ts); complete and fail call it too, so finishing one job and taking
-- the next is one script call.
local function claim_jobs(now, lease, worker, want, queues)
  local jobs = {}
  for _, queue in ipairs(queues) do
    promote_due(queue, now)
    while #jobs < want do
      local id = redis.call('LPOP', K.queue(queue))
      if not id then break end
      local job = job_table(id)
      if job and job.status == 'queued' then
        local ttl = tonumber(job.ttlSec or '')
        if ttl and tonumber(job.enqueuedAt) + ttl * 1000 < now then
          local err = cjson.encode({ name = 'JobExpiredError', message = 'waited longer than its ttlSec of ' .. ttl .. ' s' })
          to_terminal(id, queue, 'failed', now, { 'error', err })
          cancel_dependents(id, now)
        else
          -- the reply carries the hash as Redis would give it: strings
          job.status, job.startedAt, job.workerName = 'started', tostring(now), worker
          job.attempts = tostring(tonumber(job.attempts or '0') + 1)
          redis.call('HSET', K.job(id), 'status', 'started', 'startedAt', now, 'workerName', worker, 'attempts', job.attempts)
          redis.call('ZADD', K.registry('started', queue), now + lease, id)
          table.insert(jobs, job)
        end
      end
      -- any other status (or a missing hash) is a stale id: drop it
    end
  end

  local next_due = nil
  for _, queue in ipairs(queues) do
    -- leave the wake marker set for the next worker while jobs remain
    if redis.call('LLEN', K.queue(queue)) > 0 then arm(queue) end
    local first = redis.call('ZRANGE', K.registry('scheduled', queue), 0, 0, 'WITHSCORES')
    if first[2] then
      local due = tonumber(first[2])
      if not next_due or due < next_due then next_due = due end
    end
  end
  return { jobs = jobs, nextDueAt = next_due }
end

-- ARGV from position 'from' on: lease, how many, queue names. Absent: nil.
local function claim_from_argv(now, worker, from)
  if not ARGV[from] then return nil end
  local queues = {}
  for i = from + 2, #ARGV do table.insert(queues, ARGV[i]) end
  return claim_jobs(now, tonumber(ARGV[from]), worker, tonumber(ARGV[from + 1]), queues)
end
`;
