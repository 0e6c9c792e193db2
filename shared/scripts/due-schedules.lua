-- due-schedules: the schedules due now, a batch at most, for a worker to fire
-- (it works out the tick and the next one, then calls fire-schedule).
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- Returns { due = [ { name, dueAt, spec = JSON, createdAt } ], nextAt = the
-- earliest schedule due after these, or nil }
--- @include "keys"
--- @include "limits"

local now = tonumber(ARGV[2])
local entries = redis.call('ZRANGEBYSCORE', K.schedules(), '-inf', now, 'WITHSCORES', 'LIMIT', 0, LIMITS.batch)
local due = {}
for i = 1, #entries, 2 do
  local f = redis.call('HMGET', K.schedule(entries[i]), 'spec', 'createdAt')
  if f[1] then
    table.insert(due, { name = entries[i], dueAt = tonumber(entries[i + 1]), spec = f[1], createdAt = tonumber(f[2]) })
  else
    redis.call('ZREM', K.schedules(), entries[i])
  end
end
local later = redis.call('ZRANGEBYSCORE', K.schedules(), '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return cjson.encode({ due = due, nextAt = tonumber(later[2]) })
