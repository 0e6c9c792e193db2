-- fail: started -> failed, or stopped (a stop was requested), or back to
-- queued/scheduled when the job's retry policy allows another attempt.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name (the job must still be held by it)
-- ARGV[5] error, JSON { name, message, stack }
-- ARGV[6] '1' if the error may be retried, '0' if not (unknown task)
-- ARGV[7..] optional: lease ms, how many, queue names — claim the worker's
--           next jobs in the same call, as the claim script would
-- Returns { ok, status, jobs, nextDueAt }, as complete does.
--- @include "fail_or_retry"
--- @include "report"

local now = tonumber(ARGV[2])
local id = ARGV[3]
return report(now, id, ARGV[4], 7, function()
  return fail_or_retry(id, now, ARGV[5], ARGV[6] == '1')
end)
