-- get-job: a job's hash. Reads go through scripts too: one consistent
-- snapshot per call, and the same minimal client interface (EVALSHA) for
-- both runtimes.
-- KEYS[1] the job's hash: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] job id
-- Returns { job = hash } or { job = nil }
--- @key-locking
--- @include "job_table"

return cjson.encode({ job = job_table(ARGV[2]) })
