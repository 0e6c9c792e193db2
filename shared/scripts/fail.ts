import { Script } from "../script.ts";

export const fail = new Script("fail", `
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
-- Returns { ok = true, status = new status, next? } or { ok = false, status =
-- current, next? }; next is what claim would return.
local now = tonumber(ARGV[2])
local id = ARGV[3]
local reply
if not owned_job(id, ARGV[4]) then
  reply = { ok = false, status = job_get(id, 'status') or 'missing' }
else
  reply = { ok = true, status = fail_or_retry(id, now, ARGV[5], ARGV[6] == '1') }
end
reply.next = claim_from_argv(now, ARGV[4], 7)
return cjson.encode(reply)
`);
