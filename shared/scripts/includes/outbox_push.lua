--- @include "keys"
--- @include "job_table"

-- A job with a callbackUrl just ended: its delivery goes to the outbox in
-- the same call, with the job as it ended, so that whoever ended it (a
-- worker, the edge, maintenance) leaves the callback to any worker, and a
-- worker that dies mid-delivery loses nothing. The delivery id (the
-- webhook-id the receiver sees, the same on every retry) names this ending.
local function outbox_push(id, now, url)
  local delivery = id .. '.' .. now
  redis.call('HSET', K.delivery(delivery), 'id', delivery, 'jobId', id, 'url', url, 'job', cjson.encode(job_table(id)),
    'attempts', 0, 'createdAt', now)
  redis.call('ZADD', K.outbox(), now, delivery)
  redis.call('ZADD', K.outboxAge(), now, delivery)
  redis.call('HSET', K.job(id), 'callbackId', delivery, 'callbackStatus', 'pending', 'callbackAttempts', 0)
  redis.call('HDEL', K.job(id), 'callbackError')
  if redis.call('LLEN', K.outboxWake()) == 0 then redis.call('RPUSH', K.outboxWake(), '1') end
end
