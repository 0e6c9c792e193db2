-- complete: started -> finished, storing the result, and releasing deferred
-- jobs whose last dependency this was.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] job id
-- ARGV[4] worker name (the job must still be held by it)
-- ARGV[5] result, JSON
-- ARGV[6..] optional: lease ms, how many, queue names — claim the worker's
--           next jobs in the same call, as the claim script would
-- Returns { ok, status, jobs, nextDueAt }: ok = false when the worker no
-- longer holds the job (its lease ran out and it was recovered), status the
-- job's status after the call ('missing' when it is gone), and jobs and
-- nextDueAt what the claim script would return (no jobs without ARGV[6..]).
--- @include "keys"
--- @include "to_terminal"
--- @include "release_dependents"
--- @include "report"

local now = tonumber(ARGV[2])
local id = ARGV[3]
return report(now, id, ARGV[4], 6, function(queue)
  redis.call('ZREM', K.registry('started', queue), id)
  to_terminal(id, queue, 'started', 'finished', now, { 'result', ARGV[5] }, { 'error' })
  release_dependents(id, now)
  return 'finished'
end)
