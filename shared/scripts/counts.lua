-- counts: how many jobs queues hold per status, their settings, the live
-- workers that listen on them, and the callback outbox. Either the queues
-- named, or a page of the known queues in name order.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue names, comma-separated ('' for a page of all queues)
-- ARGV[4] with '': where the page starts (a queue name, exclusive; '' for the first)
-- ARGV[5] with '': the page's size at most
-- ARGV[6] '1' to add each queue's counters (jobs ended per status, the run-time histogram), for metrics
-- Returns { queues = [ { name, counts = {status = n}, settings, workers = [hash], stats? = hash,
-- schedules = [ { name, nextAt, lastAt } ] (the first 50 by name), topGroups? = [ { name, waiting,
-- started } ] (the most loaded groups, with stats),
-- tasks? = [ name, declaration (JSON text), … ] for queues named } ],
-- nextCursor = the last name when more may follow, outbox = { size, oldestAt } }
--- @include "keys"
--- @include "statuses"
--- @include "limits"
--- @include "hash_table"
--- @include "split"
--- @include "settings_of"

local now = tonumber(ARGV[2])
local names = split(ARGV[3])
local next_cursor = nil
if #names == 0 then
  local size = math.min(tonumber(ARGV[5]) or LIMITS.batch, 2 * LIMITS.batch)
  local from = ARGV[4] ~= '' and '(' .. ARGV[4] or '-'
  names = redis.call('ZRANGEBYLEX', K.queues(), from, '+', 'LIMIT', 0, size)
  if #names == size then next_cursor = names[#names] end
end

-- a fleet of workers is the operator's, not a caller's: still, at most a page of them
local workers = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', K.workers(), now, '+inf', 'LIMIT', 0, 2 * LIMITS.batch)) do
  local w = hash_table(redis.call('HGETALL', K.worker(name)))
  if w.name then table.insert(workers, w) end
end

local settings = #names > 0 and settings_of(names) or {}
local out = {}
for _, queue in ipairs(names) do
  local c = { queued = redis.call('ZCARD', K.waiting(queue)) + redis.call('ZCARD', K.grouped(queue)) }
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
  local schedules = {}
  for _, name in ipairs(redis.call('ZRANGE', K.queueSchedules(queue), 0, 49)) do
    table.insert(schedules, {
      name = name,
      nextAt = tonumber(redis.call('ZSCORE', K.schedules(), name)),
      lastAt = tonumber(redis.call('HGET', K.schedule(name), 'lastAt')),
    })
  end
  local entry = { name = queue, counts = c, settings = settings[queue], workers = listening, schedules = schedules }
  -- declarations carry JSON Schemas: only for queues asked for by name, not for pages of them
  if ARGV[3] ~= '' then entry.tasks = redis.call('HGETALL', K.tasks(queue)) end
  if ARGV[6] == '1' then
    entry.stats = hash_table(redis.call('HGETALL', K.stats(queue)))
    -- the most loaded groups only: a million tenants must not make a million series
    local top = redis.call('ZREVRANGE', K.groups(queue), 0, LIMITS.top_groups - 1)
    if #top > 0 then
      local active = redis.call('HMGET', K.groupActive(queue), unpack(top))
      entry.topGroups = {}
      for i, group in ipairs(top) do
        local waiting = redis.call('ZCARD', K.groupWaiting(queue, group))
        table.insert(entry.topGroups, { name = group, waiting = waiting, started = tonumber(active[i]) or 0 })
      end
    end
  end
  table.insert(out, entry)
end
local oldest = redis.call('ZRANGE', K.outboxAge(), 0, 0, 'WITHSCORES')[2]
return cjson.encode({
  queues = out,
  nextCursor = next_cursor,
  outbox = { size = redis.call('ZCARD', K.outbox()), oldestAt = tonumber(oldest) },
})
