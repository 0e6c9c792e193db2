-- complete: started -> finished for each job reported, storing its result,
-- and releasing deferred jobs whose last dependency it was; then claims the
-- worker's next jobs in the same call, as the claim script would.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] worker name (each job must still be held by it)
-- ARGV[4..8] what the worker wants next and its state (see claim.lua)
-- ARGV[9..] per job: its id, the claim the worker holds it by, its result (JSON)
-- Returns { reported = [{ ok, status }], jobs, nextDueAt, more }: per job, ok =
-- false when the worker no longer held it (its lease ran out and it was
-- recovered), status its status after the call ('missing' when it is gone);
-- the rest as claim.
--- @include "keys"
--- @include "leave_started"
--- @include "to_terminal"
--- @include "release_dependents"
--- @include "step"

local now = tonumber(ARGV[2])
local DROP = { 'error' }
-- the ending's fields come with the check that the worker holds the job: one read
return step(now, tonumber(ARGV[5]), function(id, queue, at, read)
  leave_started(id, queue)
  if to_terminal(id, queue, 'started', 'finished', now, { 'result', ARGV[at] }, DROP, read) then
    release_dependents(id, now)
  end
  return 'finished'
end, 3, ending_fields('finished', DROP))
