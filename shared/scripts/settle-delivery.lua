-- settle-delivery: records how a callback delivery went. delivered, refused
-- (its target is not allowed) and failed (out of attempts, or an answer that
-- retrying cannot change) take it out of the outbox; retry puts it back,
-- due at retryAt. The job, while it still has this ending, shows the
-- delivery's state.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] delivery id
-- ARGV[3] delivered | refused | failed | retry
-- ARGV[4] what went wrong ('' when delivered)
-- ARGV[5] with retry: when to try again, epoch ms
-- Returns { ok = false when there is no such delivery (another worker settled it) }
--- @include "keys"

local id, outcome, problem = ARGV[2], ARGV[3], ARGV[4]
local key = K.delivery(id)
local f = redis.call('HMGET', key, 'jobId', 'attempts')
if not f[1] then return cjson.encode({ ok = false }) end
local job = K.job(f[1])
local current = redis.call('HGET', job, 'callbackId') == id

if outcome == 'retry' then
  redis.call('ZADD', K.outbox(), tonumber(ARGV[5]), id)
  redis.call('HSET', key, 'lastError', problem)
else
  redis.call('ZREM', K.outbox(), id)
  redis.call('ZREM', K.outboxAge(), id)
  redis.call('DEL', key)
  if current then redis.call('HSET', job, 'callbackStatus', outcome) end
end
if current then
  redis.call('HSET', job, 'callbackAttempts', f[2])
  if problem ~= '' then
    redis.call('HSET', job, 'callbackError', problem)
  else
    redis.call('HDEL', job, 'callbackError')
  end
end
return cjson.encode({ ok = true })
