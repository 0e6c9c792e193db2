--- @include "keys"
--- @include "limits"
--- @include "arm"
--- @include "move"
--- @include "job_table"
--- @include "promote_due"
--- @include "resume_due_waits"
--- @include "to_terminal"
--- @include "cancel_dependents"
--- @include "settings_of"
--- @include "room"
--- @include "window"
--- @include "list_group"
--- @include "policy_of"
--- @include "group_waiting"

-- Counts a start in a window; the set expires when the window has passed.
local function count_start(key, limit, now, member)
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, limit.perMs)
end

-- Takes a group out of the rotation; a claim does so just after it moved
-- the group to the tail, where LREM finds it at once.
local function unlist_group(queue, group)
  redis.call('LREM', K.groupsReady(queue), -1, group)
  redis.call('SREM', K.groupsListed(queue), group)
end

-- How many more of a group's jobs may start now, or 0 and why not:
-- 'paused', 'busy' (at its concurrency) or 'limited' with when its window
-- opens.
local function group_room(queue, group, policy, now)
  if policy.paused then return 0, 'paused' end
  local left = math.huge
  if policy.concurrency then
    left = policy.concurrency - (tonumber(redis.call('HGET', K.groupActive(queue), group)) or 0)
    if left <= 0 then return 0, 'busy' end
  end
  if policy.limit then
    local starts_left, opens_at = window_room(K.groupRate(queue, group), policy.limit, now)
    if starts_left == 0 then return 0, 'limited', opens_at end
    left = math.min(left, starts_left)
  end
  return left
end

-- Starts a job for a worker: the reply carries its hash as Redis would give
-- it (strings), with `claims`, the lease token the worker's writes must
-- name (includes/owned_job.lua), and the queue's rate window and the job's
-- group (in a grouped queue: its count of started jobs and its window) count
-- the start.
local function start(job, queue, now, lease, worker, settings)
  local id = job.id
  job.status, job.startedAt, job.workerName = 'started', tostring(now), worker
  job.attempts = tostring(tonumber(job.attempts or '0') + 1)
  job.claims = tostring(tonumber(job.claims or '0') + 1)
  move(id, queue, 'queued', 'started', 'startedAt', now, 'workerName', worker, 'attempts', job.attempts,
    'claims', job.claims)
  redis.call('ZADD', K.registry('started', queue), now + lease, id)
  redis.call('ZADD', K.leases(), now + lease, id)
  if settings.limit then count_start(K.rate(queue), settings.limit, now, id .. ':' .. job.attempts) end
  if settings.grouped then
    local group = job.group or ''
    redis.call('HINCRBY', K.groupActive(queue), group, 1)
    local policy = policy_of(queue, group)
    if policy.limit then count_start(K.groupRate(queue, group), policy.limit, now, id .. ':' .. job.attempts) end
  end
end

local function expired(job, now)
  local ttl = tonumber(job.ttlSec or '')
  return ttl and tonumber(job.enqueuedAt) + ttl * 1000 < now, ttl
end

-- A popped id: started and answered, or failed for waiting past its ttlSec,
-- or dropped (any other status, or a missing hash, is a stale id).
local function claim_popped(id, queue, settings, now, lease, worker)
  local job = job_table(id)
  if not job or job.status ~= 'queued' then return nil end
  local late, ttl = expired(job, now)
  if late then
    local err = cjson.encode({ name = 'JobExpiredError', message = 'waited longer than its ttlSec of ' .. ttl .. ' s' })
    to_terminal(job.id, queue, 'queued', 'failed', now, { 'error', err })
    cancel_dependents(job.id, now)
    return nil
  end
  start(job, queue, now, lease, worker, settings)
  -- a durable job resumes with the steps it recorded (a job without any pays nothing)
  if job.steps then job.recorded = redis.call('HGETALL', K.steps(id)) end
  return job
end

-- A grouped queue's claim: one job a turn from the group at the head of the
-- rotation, which then goes to the tail. A group that cannot start a job
-- leaves the rotation (its jobs stay): a paused one until it is resumed, a
-- busy one until one of its jobs ends, a limited one until its window opens
-- (groupsLimited, read once a call). The claim stops after a full turn in
-- which nothing started. Answers what is left of the queue's room and of
-- the budget, when a window opens next, and whether the rotation may hold
-- more for another worker.
local function claim_grouped(queue, settings, now, lease, worker, jobs, want, left, budget)
  local limited, ready = K.groupsLimited(queue), K.groupsReady(queue)
  local wake_at = tonumber(redis.call('ZRANGE', limited, 0, 0, 'WITHSCORES')[2])
  if wake_at and wake_at <= now then
    for _, group in ipairs(redis.call('ZRANGEBYSCORE', limited, '-inf', now, 'LIMIT', 0, LIMITS.batch)) do
      redis.call('ZREM', limited, group)
      list_group(queue, group)
    end
    wake_at = tonumber(redis.call('ZRANGE', limited, 0, 0, 'WITHSCORES')[2])
  end
  local turn, idle = redis.call('LLEN', ready), 0
  while left > 0 and #jobs < want and budget > 0 and idle < turn do
    local group = redis.call('LMOVE', ready, ready, 'LEFT', 'RIGHT')
    if not group then break end
    budget, idle = budget - 1, idle + 1
    local group_left, why, opens_at = group_room(queue, group, policy_of(queue, group), now)
    local popped = group_left > 0 and redis.call('ZPOPMIN', group_waiting(queue, group)) or {}
    if why == 'limited' then
      redis.call('ZADD', limited, opens_at, group)
      if not wake_at or opens_at < wake_at then wake_at = opens_at end
    end
    if #popped == 0 then
      if group ~= '' then unlist_group(queue, group) end
    else
      if group ~= '' then redis.call('ZREM', K.grouped(queue), popped[1]) end
      local job = claim_popped(popped[1], queue, settings, now, lease, worker)
      if job then
        table.insert(jobs, job)
        left, idle = left - 1, 0
      end
    end
  end
  return left, budget, wake_at, idle < turn
end

-- Takes up to want jobs for a worker from its queues in the order given
-- (the worker's priority), lowest score first within a queue (within a
-- group, taking groups in turn, in a grouped queue); complete and fail call
-- it too, so finishing one job and taking the next is one call. Visits at
-- most a batch of waiting ids (or groups) per call (expired and stale ones
-- count): more = true says another call may find more. nextDueAt is the
-- earliest time a wait should end: a scheduled job falls due, or a rate
-- window opens.
local function claim_jobs(now, lease, worker, want, queues)
  local settings = settings_of(queues)
  local jobs = {}
  local budget = LIMITS.batch
  local more = false
  local wake_at = nil
  local function wake_by(at)
    if at and (not wake_at or at < wake_at) then wake_at = at end
  end
  for _, queue in ipairs(queues) do
    local s = settings[queue]
    -- nothing a claim does afterwards changes what is scheduled
    local _, more_due, due = promote_due(queue, now)
    more = more or more_due
    if s.waits then
      local _, more_waits, runs_out = resume_due_waits(queue, now)
      more = more or more_waits
      wake_by(runs_out)
    end
    local left, opens_at = room(queue, s, now)
    wake_by(opens_at)
    -- leave the wake marker set for the next worker while this queue has jobs
    -- it may start; a queue at its cap is woken when it has room again
    if s.grouped then
      local group_opens, claimable
      left, budget, group_opens, claimable = claim_grouped(queue, s, now, lease, worker, jobs, want, left, budget)
      wake_by(group_opens)
      if left > 0 and claimable then arm(queue) end
    else
      while left > 0 and #jobs < want and budget > 0 do
        local popped = redis.call('ZPOPMIN', K.waiting(queue), math.min(left, want - #jobs, budget))
        if #popped == 0 then break end
        for i = 1, #popped, 2 do
          budget = budget - 1
          local job = claim_popped(popped[i], queue, s, now, lease, worker)
          if job then
            table.insert(jobs, job)
            left = left - 1
          end
        end
      end
      if left > 0 then arm(queue, function() return redis.call('ZCARD', K.waiting(queue)) > 0 end) end
    end
    if budget == 0 and #jobs < want then more = true end
    wake_by(due)
  end
  return { jobs = jobs, nextDueAt = wake_at, more = more }
end
