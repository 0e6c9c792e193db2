--- @include "job_get"
--- @include "owned_job"
--- @include "claim_from_argv"

-- What complete and fail share: the worker's report takes effect only while
-- it still holds the job (settle(queue) makes the move and names the new
-- status), and the worker's next jobs are claimed in the same call when
-- ARGV from position claim_from on asks for them.
local function report(now, id, worker, claim_from, settle)
  local ok, status = false, nil
  local queue = owned_job(id, worker)
  if queue then ok, status = true, settle(queue) end
  status = status or job_get(id, 'status') or 'missing'
  local reply = claim_from_argv(now, worker, claim_from) or { jobs = {} }
  reply.ok, reply.status = ok, status
  return cjson.encode(reply)
end
