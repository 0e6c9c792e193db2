-- complete: started -> finished, storing the result, and releasing deferred
-- jobs whose last dependency this was; then claims the worker's next jobs in
-- the same call, as the claim script would.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name (the job must still be held by it)
-- ARGV[5] result, JSON
-- ARGV[6..9] what the worker wants next: lease ms, how many (0: none), its
--            queues and the other jobs it runs (see claim.lua)
-- Returns { ok, status, jobs, nextDueAt, more }: ok = false when the worker no
-- longer holds the job (its lease ran out and it was recovered), status the
-- job's status after the call ('missing' when it is gone), the rest as claim.
--- @include "keys"
--- @include "leave_started"
--- @include "to_terminal"
--- @include "release_dependents"
--- @include "step"

local now = tonumber(ARGV[2])
local id = ARGV[3]
return step(now, ARGV[4], 6, id, function(queue)
  leave_started(id, queue)
  to_terminal(id, queue, 'started', 'finished', now, { 'result', ARGV[5] }, { 'error' })
  release_dependents(id, now)
  return 'finished'
end)
