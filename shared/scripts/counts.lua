-- counts: how many jobs a queue holds per status, and the live workers that
-- listen on it.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3..] queue names (none: every known queue)
-- Returns { queues = { [name] = { counts = {status = n}, workers = [hash] } } }
--- @include "keys"
--- @include "statuses"
--- @include "hash_table"

local now = tonumber(ARGV[2])
local names = {}
for i = 3, #ARGV do table.insert(names, ARGV[i]) end
if #names == 0 then names = redis.call('SMEMBERS', K.queues()) end

local workers = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', K.workers(), now, '+inf')) do
  local w = hash_table(redis.call('HGETALL', K.worker(name)))
  if w.name then table.insert(workers, w) end
end

local out = {}
for _, queue in ipairs(names) do
  local c = { queued = redis.call('LLEN', K.queue(queue)) }
  for _, status in ipairs(STATUS.registries) do
    local key = K.registry(status, queue)
    if STATUS.terminal[status] then
      -- entries past their job's TTL linger until maintenance drops them
      c[status] = redis.call('ZCOUNT', key, now, '+inf')
    else
      c[status] = redis.call('ZCARD', key)
    end
  end
  local listening = {}
  for _, w in ipairs(workers) do
    for q in string.gmatch(w.queues or '', '[^,]+') do
      if q == queue then table.insert(listening, w) end
    end
  end
  out[queue] = { counts = c, workers = listening }
end
return cjson.encode({ queues = out })
