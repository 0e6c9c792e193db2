-- requeue-all: failed (or stopped, or canceled) -> queued for a batch of a
-- queue's jobs in that status, newest first, as requeue does for one. The
-- caller repeats while more = true, so no call runs long.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue name
-- ARGV[4] failed | stopped | canceled
-- Returns { count = jobs requeued, more = whether jobs in that status remain }
--- @include "keys"
--- @include "limits"
--- @include "job_get"
--- @include "requeue_ended"

local now, queue, status = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local key = K.registry(status, queue)
local ids = redis.call('ZREVRANGEBYSCORE', key, '+inf', now, 'LIMIT', 0, LIMITS.batch)
local count = 0
for _, id in ipairs(ids) do
  if job_get(id, 'status') == status then
    requeue_ended(id, queue, status, now)
    count = count + 1
  else
    redis.call('ZREM', key, id)
  end
end
return cjson.encode({ count = count, more = redis.call('ZCOUNT', key, now, '+inf') > 0 })
