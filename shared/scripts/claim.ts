import { Script } from "../script.ts";

export const claim = new Script("claim", `
-- claim: queued -> started for up to N jobs, taken from the queues in the
-- order given (priority), promoting due scheduled jobs first. The id moves
-- from the waiting list into the started registry inside this script, so no
-- crash between "pop" and "start" can lose it.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] lease, ms
-- ARGV[4] worker name
-- ARGV[5] how many jobs at most
-- ARGV[6..] queue names, highest priority first
-- Returns { jobs = [ job hash ... ], nextDueAt = earliest scheduled run-at or nil }
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local worker = ARGV[4]
local want = tonumber(ARGV[5])
local jobs = {}

for i = 6, #ARGV do
  local queue = ARGV[i]
  promote_due(queue, now)
  while #jobs < want do
    local id = redis.call('LPOP', K.queue(queue))
    if not id then break end
    local job = job_table(id)
    if job and job.status == 'queued' then
      local ttl = tonumber(job.ttlSec or '')
      if ttl and tonumber(job.enqueuedAt) + ttl * 1000 < now then
        local err = cjson.encode({ name = 'JobExpiredError', message = 'waited longer than its ttlSec of ' .. ttl .. ' s' })
        to_terminal(id, queue, 'failed', now, { 'error', err })
        cancel_dependents(id, now)
      else
        -- the reply carries the hash as Redis would give it: strings
        job.status, job.startedAt, job.workerName = 'started', ARGV[2], worker
        job.attempts = tostring(tonumber(job.attempts or '0') + 1)
        redis.call('HSET', K.job(id), 'status', 'started', 'startedAt', now, 'workerName', worker, 'attempts', job.attempts)
        redis.call('ZADD', K.registry('started', queue), now + lease, id)
        table.insert(jobs, job)
      end
    end
    -- any other status (or a missing hash) is a stale id: drop it
  end
end

local next_due = nil
for i = 6, #ARGV do
  local queue = ARGV[i]
  -- leave the wake marker set for the next worker while jobs remain
  if redis.call('LLEN', K.queue(queue)) > 0 then arm(queue) end
  local first = redis.call('ZRANGE', K.registry('scheduled', queue), 0, 0, 'WITHSCORES')
  if first[2] then
    local due = tonumber(first[2])
    if not next_due or due < next_due then next_due = due end
  end
end
return cjson.encode({ jobs = jobs, nextDueAt = next_due })
`);
