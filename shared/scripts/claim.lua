-- claim: queued -> started for up to N jobs, taken from the worker's queues
-- in the order given, lowest score (priority, then arrival) first within a
-- queue, promoting due scheduled jobs first and skipping queues that are
-- paused or at their rate limit or fleet-wide concurrency. The id moves from
-- the waiting set into the started registries inside this script, so no
-- crash between "pop" and "start" can lose it.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] worker name
-- ARGV[4] lease, ms
-- ARGV[5] how many jobs at most
-- ARGV[6] queue names, comma-separated, highest priority first
-- ARGV[7] ids of the jobs the worker keeps running, comma-separated
-- ARGV[8] the worker's state while it stops ('warm', 'cold'), else ''
-- ARGV[9] '1' for a claim sent behind the worker's blocking wait, on its
--         connection: Redis runs it the moment a job wakes the worker, which
--         may be long after ARGV[2], and after the worker began to stop
-- Returns { reported = {}, jobs = [ job hash ... ], nextDueAt = when a wait
-- should end (a scheduled job falls due, a rate window opens) or nil, more =
-- true when the call stopped at its bound and another may find more }
--- @include "keys"
--- @include "step"

local now = tonumber(ARGV[2])
local max = tonumber(ARGV[5])
if ARGV[9] == '1' then
  -- the server's clock, should the worker's reading be older (it blocked)
  local time = redis.call('TIME')
  now = math.max(now, tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
  -- a stopping worker wrote so into its entry before it ended its wait: it
  -- takes nothing, and its step passes the wake marker on
  local state = redis.call('HGET', K.worker(ARGV[3]), 'state')
  if state == 'warm' or state == 'cold' then max = 0 end
end
return step(now, max)
