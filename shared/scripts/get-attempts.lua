-- get-attempts: a job and its earlier attempts, in one snapshot.
-- KEYS[1] the job's hash, KEYS[2] its attempts: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] job id
-- Returns { job = hash or nil, attempts = [ JSON text of an attempt, newest first ] }
--- @key-locking
--- @include "keys"
--- @include "job_table"

local id = ARGV[2]
return cjson.encode({ job = job_table(id), attempts = redis.call('LRANGE', K.attempts(id), 0, -1) })
