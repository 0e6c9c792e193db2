--- @include "job_get"
--- @include "owned_job"
--- @include "split"
--- @include "claim_jobs"
--- @include "worker_step"

-- What claim, complete and fail share: a worker's step. ARGV from position
-- 'from' on says what the worker wants next: lease ms, how many jobs at most,
-- its queues (comma-separated, highest priority first), and the ids of the
-- other jobs it keeps running (comma-separated). A report (settle given)
-- takes effect only while the worker still holds the job: settle(queue)
-- makes the move and names the new status. Answers { ok, status, jobs,
-- nextDueAt, more } as JSON.
local function step(now, worker, from, id, settle)
  local reply = { ok = true, jobs = {} }
  local counter = nil
  if settle then
    local queue = owned_job(id, worker)
    reply.ok = queue ~= nil
    if queue then reply.status = settle(queue) end
    reply.status = reply.status or job_get(id, 'status') or 'missing'
    counter = reply.ok and (reply.status == 'finished' and 'processed' or 'failed') or nil
  end
  local queues = split(ARGV[from + 2])
  local running = split(ARGV[from + 3])
  -- a worker that wants nothing may still name its queues: it took a wake
  -- marker it cannot use, and the claim passes it on while jobs remain
  if #queues > 0 then
    local claimed = claim_jobs(now, tonumber(ARGV[from]), worker, tonumber(ARGV[from + 1]), queues)
    claimed.ok, claimed.status = reply.ok, reply.status
    reply = claimed
    for _, job in ipairs(reply.jobs) do table.insert(running, job.id) end
  end
  worker_step(worker, running, counter)
  return cjson.encode(reply)
end
