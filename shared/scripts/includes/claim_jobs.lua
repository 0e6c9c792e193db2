--- @include "keys"
--- @include "arm"
--- @include "move"
--- @include "job_table"
--- @include "promote_due"
--- @include "to_terminal"
--- @include "cancel_dependents"

-- Takes up to want jobs for a worker from its queues in priority order (see
-- claim.lua); complete and fail call it too, so finishing one job and taking
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
          local err = cjson.encode({
            name = 'JobExpiredError',
            message = 'waited longer than its ttlSec of ' .. ttl .. ' s',
          })
          to_terminal(id, queue, 'queued', 'failed', now, { 'error', err })
          cancel_dependents(id, now)
        else
          -- the reply carries the hash as Redis would give it: strings
          job.status, job.startedAt, job.workerName = 'started', tostring(now), worker
          job.attempts = tostring(tonumber(job.attempts or '0') + 1)
          move(id, 'queued', 'started', 'startedAt', now, 'workerName', worker, 'attempts', job.attempts)
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
