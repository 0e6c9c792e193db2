-- clean: deletes a queue's jobs in a terminal status that ended before a
-- time, visiting a batch of the status's registry per call from a cursor
-- (the registry is ordered by expiry, not by end, so every entry is looked
-- at). The caller repeats with nextCursor until it is nil.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] queue name
-- ARGV[3] finished | failed | stopped | canceled
-- ARGV[4] ended before, epoch ms
-- ARGV[5] cursor: how many entries earlier calls kept ('' or 0 to start)
-- Returns { count = jobs deleted, nextCursor = where to go on, or nil at the end }
--- @include "keys"
--- @include "limits"

local queue, status, before = ARGV[2], ARGV[3], tonumber(ARGV[4])
local kept = tonumber(ARGV[5]) or 0
local key = K.registry(status, queue)
local ids = redis.call('ZRANGE', key, kept, kept + LIMITS.batch - 1)
local count = 0
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', K.job(id), 'status', 'endedAt')
  if not f[1] or f[1] ~= status or (tonumber(f[2]) or 0) < before then
    -- gone, moved on, or old enough: the registry entry goes, and the job with it if it was this one
    redis.call('ZREM', key, id)
    if f[1] == status then
      redis.call('DEL', K.job(id), K.attempts(id), K.steps(id), K.logs(id))
      count = count + 1
    end
  else
    kept = kept + 1
  end
end
local next_cursor = nil
if #ids == LIMITS.batch then next_cursor = kept end
return cjson.encode({ count = count, nextCursor = next_cursor })
