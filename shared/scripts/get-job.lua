-- get-job: a job's hash, and a durable job's recorded steps. Reads go
-- through scripts too: one consistent snapshot per call, and the same
-- minimal client interface (EVALSHA) for both runtimes.
-- KEYS[1] the job's hash, KEYS[2] its steps: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] job id
-- Returns { job = hash (with recorded = the steps hash, flat, when it has steps) } or { job = nil }
--- @key-locking
--- @include "job_table"

local job = job_table(ARGV[2])
if job and job.steps then job.recorded = redis.call('HGETALL', K.steps(ARGV[2])) end
return cjson.encode({ job = job })
