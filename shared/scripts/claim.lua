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
-- Returns { ok = true, jobs = [ job hash ... ], nextDueAt = when a wait should
-- end (a scheduled job falls due, a rate window opens) or nil, more = true
-- when the call stopped at its bound and another may find more }
--- @include "step"

return step(tonumber(ARGV[2]), ARGV[3], 4)
