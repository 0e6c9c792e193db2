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
-- Returns { ok = true, status = 'finished' } or { ok = false, status = current
-- status } when the worker no longer holds the job (its lease ran out and it
-- was recovered).
local now = tonumber(ARGV[2])
local id = ARGV[3]
local queue = owned_job(id, ARGV[4])
if not queue then
  return cjson.encode({ ok = false, status = job_get(id, 'status') or 'missing' })
end
redis.call('ZREM', K.registry('started', queue), id)
to_terminal(id, queue, 'finished', now, { 'result', ARGV[5] }, { 'error' })
release_dependents(id, now)
return cjson.encode({ ok = true, status = 'finished' })
`);
