-- fail: started -> failed, or stopped (a stop was requested), or back to
-- queued/scheduled when the job's retry policy allows another attempt; then
-- claims the worker's next jobs in the same call, as the claim script would.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name (the job must still be held by it)
-- ARGV[5] error, JSON { name, message, stack }
-- ARGV[6] '1' if the error may be retried, '0' if not (unknown task)
-- ARGV[7..10] what the worker wants next (see claim.lua)
-- Returns { ok, status, jobs, nextDueAt, more }, as complete does.
--- @include "fail_or_retry"
--- @include "step"

local now = tonumber(ARGV[2])
local id = ARGV[3]
return step(now, ARGV[4], 7, id, function()
  return fail_or_retry(id, now, ARGV[5], ARGV[6] == '1')
end)
