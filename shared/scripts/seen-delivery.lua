-- seen-delivery: whether the webhook intake accepted a delivery within its
-- hook's replay window, and what became of its job, which may be gone sooner
-- (a finished job is kept 500 s by default; the window may be days).
-- KEYS[1] the delivery's seen marker, KEYS[2] its job's hash: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] the delivery's job id
-- Returns { seen = boolean, status = the job's status, absent when the job is no longer kept }
--- @key-locking
--- @include "keys"
--- @include "job_get"

local id = ARGV[2]
local seen = redis.call('EXISTS', K.seenDelivery(id)) == 1
return cjson.encode({ seen = seen, status = seen and job_get(id, 'status') or nil })
