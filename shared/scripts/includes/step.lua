--- @include "job_get"
--- @include "owned_job"
--- @include "split"
--- @include "settings_of"
--- @include "claim_jobs"
--- @include "worker_step"

-- What claim, complete and fail share: a worker's step. ARGV[3] names the
-- worker; ARGV[4..7] say what it wants next: lease ms, how many jobs at most
-- (`max` overrides it), its queues (comma-separated, highest priority first)
-- and the ids of the other jobs it keeps running (comma-separated); ARGV[8]
-- is its state while it stops ('warm', 'cold'), '' while it takes jobs. From
-- ARGV[9] on come the jobs it reports, `width` arguments each, the id and
-- the claim it holds (its lease token) first: a report takes effect only
-- while the worker still holds the job under that claim, and
-- settle(id, queue, at, read) makes the move (its own arguments from
-- ARGV[at]; `read`, the job's fields named in `reads`, read with its holder)
-- and names the new status. A plain claim reports nothing. Answers { reported = [{ ok, status }], jobs,
-- nextDueAt, more } as JSON, reported in the order of the reports.
local function step(now, max, settle, width, reads)
  local worker = ARGV[3]
  local reported = {}
  local counts = {}
  local queues = split(ARGV[6])
  -- the reports' queues are the worker's, mostly: their settings, read once, serve the claim too
  if settle and #queues > 0 then settings_of(queues) end
  for at = 9, settle and #ARGV or 0, width or 1 do
    local id = ARGV[at]
    local queue, read = owned_job(id, worker, ARGV[at + 1], reads)
    local status = queue and settle(id, queue, at + 2, read) or job_get(id, 'status') or 'missing'
    table.insert(reported, { ok = queue ~= nil, status = status })
    if queue then
      local counter = status == 'finished' and 'processed' or 'failed'
      counts[counter] = (counts[counter] or 0) + 1
    end
  end
  local reply = { reported = reported, jobs = {} }
  local running = split(ARGV[7])
  -- a worker that wants nothing may still name its queues: it took a wake
  -- marker it cannot use, and the claim passes it on while jobs remain
  if #queues > 0 then
    reply = claim_jobs(now, tonumber(ARGV[4]), worker, max, queues)
    reply.reported = reported
    for _, job in ipairs(reply.jobs) do table.insert(running, job.id) end
  end
  worker_step(worker, running, counts, ARGV[8])
  return cjson.encode(reply)
end
