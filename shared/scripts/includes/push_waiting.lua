--- @include "keys"
--- @include "arm"
--- @include "move"
--- @include "settings_of"
--- @include "list_group"
--- @include "tally"

-- Marks a queue grouped (settings.grouped, read by every claim) and lists
-- its jobs without a group.
local function make_grouped(queue, settings)
  settings.grouped = true
  redis.call('HSET', K.settings(), queue, cjson.encode(settings))
  list_group(queue, '')
end

-- A waiting job's score: its priority's band (2^32 wide; no priority is band
-- 0, before priority 1, as in BullMQ), and within the band its arrival from a
-- per-queue counter: after the band's middle in order of arrival (FIFO), or
-- before it in reverse order for atFront (LIFO, as LPUSH would). Priorities go
-- up to 2^21 - 1, so every score is an integer a double holds exactly; the
-- counter wraps after 2^31 arrivals, which costs one out-of-order pair.
local BAND, MIDDLE = 4294967296, 2147483648

-- Puts a job in its queue's waiting set (a grouped job: its group's, and the
-- queue's set of grouped jobs), setting further fields (...) with its status.
-- Claiming takes the lowest score. Answers true for the queue's first
-- arrival, which create_job registers it with.
local function push_waiting(id, queue, from, now, at_front, priority, group, ...)
  local count = redis.call('HINCRBY', K.sequence(), queue, 1)
  local arrival = count % MIDDLE
  local score = (tonumber(priority) or 0) * BAND + MIDDLE + (at_front and -arrival or arrival)
  move(id, queue, from, 'queued', 'enqueuedAt', now, ...)
  if group and group ~= '' then
    local settings = settings_of({ queue })[queue]
    if not settings.grouped then make_grouped(queue, settings) end
    redis.call('ZADD', K.groupWaiting(queue, group), score, id)
    redis.call('ZADD', K.grouped(queue), score, id)
    list_group(queue, group)
    tally(queue, group, 1)
  else
    redis.call('ZADD', K.waiting(queue), score, id)
  end
  arm(queue)
  return count == 1
end
