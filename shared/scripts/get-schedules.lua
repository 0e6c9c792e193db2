-- get-schedules: schedules by name, or a page of all of them in the order
-- they fire next.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] schedule names, comma-separated ('' for a page of all)
-- ARGV[3] with '': how many already listed (the page's offset)
-- ARGV[4] with '': the page's size at most
-- Returns { schedules = [ { name, spec = JSON, nextAt, lastAt, lastJobId, createdAt, updatedAt } ] }
--- @include "keys"
--- @include "limits"
--- @include "split"

local names = split(ARGV[2])
if #names == 0 then
  local size = math.min(tonumber(ARGV[4]) or LIMITS.batch, 2 * LIMITS.batch)
  names = redis.call('ZRANGE', K.schedules(), tonumber(ARGV[3]) or 0, (tonumber(ARGV[3]) or 0) + size - 1)
end
local out = {}
for _, name in ipairs(names) do
  local f = redis.call('HMGET', K.schedule(name), 'spec', 'lastAt', 'lastJobId', 'createdAt', 'updatedAt')
  if f[1] then
    table.insert(out, {
      name = name,
      spec = f[1],
      nextAt = tonumber(redis.call('ZSCORE', K.schedules(), name)),
      lastAt = tonumber(f[2]),
      lastJobId = f[3] or nil,
      createdAt = tonumber(f[4]),
      updatedAt = tonumber(f[5]),
    })
  end
end
return cjson.encode({ schedules = out })
