-- empty: queued -> canceled for a batch of a queue's waiting jobs (the jobs
-- waiting for them are canceled too). The caller repeats while more = true,
-- so no call runs long.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue name
-- Returns { count = jobs canceled, more = whether jobs still wait }
--- @include "keys"
--- @include "limits"
--- @include "job_get"
--- @include "to_terminal"
--- @include "cancel_dependents"

local now, queue = tonumber(ARGV[2]), ARGV[3]
local key = K.waiting(queue)
local ids = redis.call('ZRANGE', key, 0, LIMITS.batch - 1)
local count = 0
local err = cjson.encode({ name = 'JobCanceledError', message = 'canceled before it started: its queue was emptied' })
for _, id in ipairs(ids) do
  redis.call('ZREM', key, id)
  if job_get(id, 'status') == 'queued' then
    to_terminal(id, queue, 'queued', 'canceled', now, { 'error', err })
    cancel_dependents(id, now)
    count = count + 1
  end
end
return cjson.encode({ count = count, more = redis.call('ZCARD', key) > 0 })
