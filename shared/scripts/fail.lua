-- fail: started -> failed, or stopped (a stop was requested), or back to
-- queued/scheduled when the job's retry policy allows another attempt, for
-- each job reported; then claims the worker's next jobs in the same call, as
-- the claim script would.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] worker name (each job must still be held by it)
-- ARGV[4..8] what the worker wants next and its state (see claim.lua)
-- ARGV[9..] per job: its id, the claim the worker holds it by, its error (JSON
--           { name, message, stack }), and
--           '1' if the error may be retried, '0' if not (unknown task)
-- Returns { reported = [{ ok, status }], jobs, nextDueAt, more }, as complete
-- does.
--- @include "fail_or_retry"
--- @include "step"

local now = tonumber(ARGV[2])
return step(now, tonumber(ARGV[5]), function(id, _, at)
  return fail_or_retry(id, now, ARGV[at], ARGV[at + 1] == '1')
end, 4)
