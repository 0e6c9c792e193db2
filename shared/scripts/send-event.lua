-- send-event: awaiting -> queued for the jobs of a queue that wait for this
-- event (ctx.waitForEvent): those that wait for its key, and those that wait
-- for the event whatever its key. Each gets the event's data as the result
-- of its wait. A batch of jobs a call: the caller repeats while more = true.
-- An event that no job waits for is dropped: it resumes the jobs waiting
-- when it is sent.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue name
-- ARGV[4] event name
-- ARGV[5] key ('' for none)
-- ARGV[6] data, JSON text
-- Returns { resumed = n, more = whether jobs still wait for it }
--- @include "keys"
--- @include "limits"
--- @include "resume_wait"

local now, queue, event, key, data = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local sets = { K.eventWaiters(queue, event, key) }
if key ~= '' then table.insert(sets, K.eventWaiters(queue, event, '')) end
local resumed, budget = 0, LIMITS.batch
for _, set in ipairs(sets) do
  if budget > 0 then
    local ids = redis.call('SPOP', set, budget)
    budget = budget - #ids
    for _, id in ipairs(ids) do
      local f = redis.call('HMGET', K.job(id), 'status', 'waitEvent', 'queue')
      -- a stale id (canceled meanwhile, or waiting anew for something else) only goes
      if f[1] == 'awaiting' and f[2] == event and f[3] == queue then
        resume_wait(id, queue, now, data)
        resumed = resumed + 1
      end
    end
  end
end
local more = false
for _, set in ipairs(sets) do more = more or redis.call('SCARD', set) > 0 end
return cjson.encode({ resumed = resumed, more = more })
