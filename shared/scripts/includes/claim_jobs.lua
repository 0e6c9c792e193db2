--- @include "keys"
--- @include "limits"
--- @include "arm"
--- @include "move"
--- @include "job_table"
--- @include "promote_due"
--- @include "to_terminal"
--- @include "cancel_dependents"
--- @include "settings_of"
--- @include "room"

-- Starts a job for a worker: the reply carries its hash as Redis would give
-- it (strings), and a rate-limited queue counts the start in its window.
local function start(job, queue, now, lease, worker, settings)
  local id = job.id
  job.status, job.startedAt, job.workerName = 'started', tostring(now), worker
  job.attempts = tostring(tonumber(job.attempts or '0') + 1)
  move(id, 'queued', 'started', 'startedAt', now, 'workerName', worker, 'attempts', job.attempts)
  redis.call('ZADD', K.registry('started', queue), now + lease, id)
  redis.call('ZADD', K.leases(), now + lease, id)
  if settings.limit then
    redis.call('ZADD', K.rate(queue), now, id .. ':' .. job.attempts)
    redis.call('PEXPIRE', K.rate(queue), settings.limit.perMs)
  end
end

local function expired(job, now)
  local ttl = tonumber(job.ttlSec or '')
  return ttl and tonumber(job.enqueuedAt) + ttl * 1000 < now, ttl
end

-- Takes up to want jobs for a worker from its queues in the order given
-- (the worker's priority), lowest score first within a queue; complete and
-- fail call it too, so finishing one job and taking the next is one call.
-- Visits at most a batch of waiting ids per call (expired and stale ones
-- count): more = true says another call may find more. nextDueAt is the
-- earliest time a wait should end: a scheduled job falls due, or a rate
-- window opens.
local function claim_jobs(now, lease, worker, want, queues)
  local settings = settings_of(queues)
  local jobs = {}
  local budget = LIMITS.batch
  local more = false
  local wake_at = nil
  for _, queue in ipairs(queues) do
    local s = settings[queue]
    -- nothing a claim does afterwards changes what is scheduled
    local _, more_due, due = promote_due(queue, now)
    more = more or more_due
    local left, opens_at = room(queue, s, now)
    if opens_at and (not wake_at or opens_at < wake_at) then wake_at = opens_at end
    while left > 0 and #jobs < want and budget > 0 do
      local popped = redis.call('ZPOPMIN', K.waiting(queue), math.min(left, want - #jobs, budget))
      if #popped == 0 then break end
      for i = 1, #popped, 2 do
        budget = budget - 1
        local job = job_table(popped[i])
        -- any other status, or a missing hash, is a stale id: it is dropped
        if job and job.status == 'queued' then
          local late, ttl = expired(job, now)
          if late then
            local err = cjson.encode({
              name = 'JobExpiredError',
              message = 'waited longer than its ttlSec of ' .. ttl .. ' s',
            })
            to_terminal(job.id, queue, 'queued', 'failed', now, { 'error', err })
            cancel_dependents(job.id, now)
          else
            start(job, queue, now, lease, worker, s)
            table.insert(jobs, job)
            left = left - 1
          end
        end
      end
    end
    if budget == 0 and #jobs < want then more = true end
    -- leave the wake marker set for the next worker while this queue has jobs
    -- it may start; a queue at its cap is woken when it has room again
    if left > 0 and redis.call('ZCARD', K.waiting(queue)) > 0 then arm(queue) end
    if due and (not wake_at or due < wake_at) then wake_at = due end
  end
  return { jobs = jobs, nextDueAt = wake_at, more = more }
end
