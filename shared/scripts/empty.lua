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
--- @include "unqueue"
--- @include "has_waiting"
--- @include "to_terminal"
--- @include "cancel_dependents"

local now, queue = tonumber(ARGV[2]), ARGV[3]
local err = cjson.encode({ name = 'JobCanceledError', message = 'canceled before it started: its queue was emptied' })
local count = 0
-- a batch a call, of the jobs without a group first, then of the grouped ones
local ids = redis.call('ZRANGE', K.waiting(queue), 0, LIMITS.batch - 1)
if #ids == 0 then ids = redis.call('ZRANGE', K.grouped(queue), 0, LIMITS.batch - 1) end
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', K.job(id), 'status', 'group')
  if f[1] == 'queued' then
    unqueue(id, queue, f[2])
    to_terminal(id, queue, 'queued', 'canceled', now, { 'error', err })
    cancel_dependents(id, now)
    count = count + 1
  else
    -- a stale id: its job moved on without it, and only the id goes
    redis.call('ZREM', K.waiting(queue), id)
    redis.call('ZREM', K.grouped(queue), id)
  end
end
return cjson.encode({ count = count, more = has_waiting(queue) })
