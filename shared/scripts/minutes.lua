-- minutes: how many jobs some queues finished and failed in each of the last
-- minutes, oldest first: the dashboard's chart. Bounded by its caller to a
-- few queues and at most two hours (what the per-minute counters keep).
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue names, comma-separated
-- ARGV[4] how many minutes back
-- Returns { [queue] = { finished = [n ...], failed = [n ...] } }
--- @include "keys"
--- @include "split"

local now_minute = math.floor(tonumber(ARGV[2]) / 60000)
local minutes = tonumber(ARGV[4])
local out = {}
for _, queue in ipairs(split(ARGV[3])) do
  local finished, failed = {}, {}
  for m = now_minute - minutes + 1, now_minute do
    local f = redis.call('HMGET', K.minute(queue, tostring(m)), 'finished', 'failed')
    table.insert(finished, tonumber(f[1]) or 0)
    table.insert(failed, tonumber(f[2]) or 0)
  end
  out[queue] = { finished = finished, failed = failed }
end
return cjson.encode(out)
