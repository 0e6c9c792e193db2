-- remember-delivery: records that the webhook intake accepted a delivery, for
-- its hook's replay window, apart from the job: a replay signed for the same
-- delivery is then answered without being run again, however long the job is
-- kept. Written after the job is enqueued, so a failure in between leaves the
-- sender's retry to find the job by its id rather than a record with no job.
-- KEYS[1] the delivery's seen marker: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] the delivery's job id
-- ARGV[3] now, epoch ms (kept as the time it was accepted)
-- ARGV[4] the replay window, seconds
-- Returns {}
--- @key-locking
--- @include "keys"

redis.call('SET', K.seenDelivery(ARGV[2]), ARGV[3], 'EX', ARGV[4])
return cjson.encode({})
