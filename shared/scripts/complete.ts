import { Script } from "../script.ts";

export const complete = new Script("complete", `
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
-- Returns { ok = true, status = 'finished', next? } or { ok = false, status =
-- current status, next? } when the worker no longer holds the job (its lease
-- ran out and it was recovered); next is what claim would return.
local now = tonumber(ARGV[2])
local id = ARGV[3]
local queue = owned_job(id, ARGV[4])
local reply
if not queue then
  reply = { ok = false, status = job_get(id, 'status') or 'missing' }
else
  redis.call('ZREM', K.registry('started', queue), id)
  to_terminal(id, queue, 'finished', now, { 'result', ARGV[5] }, { 'error' })
  release_dependents(id, now)
  reply = { ok = true, status = 'finished' }
end
reply.next = claim_from_argv(now, ARGV[4], 6)
return cjson.encode(reply)
`);
