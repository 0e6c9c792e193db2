-- claim-deliveries: takes callback deliveries that are due from the outbox,
-- with a lease (their score moves to when the lease runs out), so that a
-- worker that dies mid-delivery leaves them to another.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] lease, ms
-- ARGV[4] how many at most
-- Returns { deliveries = [ { id, jobId, url, job = the job's hash as JSON, attempts (this one included),
-- createdAt } ], nextAt = when the next one falls due, or nil }
--- @include "keys"
--- @include "hash_table"

local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', K.outbox(), '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local deliveries = {}
for _, id in ipairs(due) do
  local key = K.delivery(id)
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', K.outbox(), now + lease, id)
    redis.call('HINCRBY', key, 'attempts', 1)
    table.insert(deliveries, hash_table(redis.call('HGETALL', key)))
  else
    redis.call('ZREM', K.outbox(), id)
    redis.call('ZREM', K.outboxAge(), id)
  end
end
local first = redis.call('ZRANGE', K.outbox(), 0, 0, 'WITHSCORES')
return cjson.encode({ deliveries = deliveries, nextAt = tonumber(first[2]) })
