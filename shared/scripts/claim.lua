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
--- @include "claim_jobs"

local queues = {}
for i = 6, #ARGV do table.insert(queues, ARGV[i]) end
return cjson.encode(claim_jobs(tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), queues))
