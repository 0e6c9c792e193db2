-- progress: a running task's progress, meta and log lines, as its worker
-- passes them on (coalesced: a few writes a second at most, the last one
-- before the outcome). Written only while the worker still holds the job, and
-- published on the job's channel for SSE as JSON { progress, meta } and
-- { log = lines written so far } (a status change is published as its bare
-- name), so a stream forwards it without a read; and on the queue's event
-- stream, with the progress when it is small.
-- A job's log keeps its latest LIMITS.max_log_lines lines within
-- LIMITS.max_log_bytes; the job hash counts the lines ever written ('logs':
-- the ending reads it, and a job that never logged pays nothing there) and
-- the bytes held ('logBytes').
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] worker name (the job must still be held by it)
-- ARGV[4] the claim it holds the job by (its lease token)
-- ARGV[5] progress, JSON ('' to leave it)
-- ARGV[6] fields to merge into meta, a JSON object ('' for none)
-- ARGV[7] log lines the worker dropped before this write (its buffer keeps the latest), '0' for none
-- ARGV[8..] log lines, oldest first, each JSON { at, attempt, text, level? }
-- Returns { ok = false when the worker no longer holds the job }
--- @include "keys"
--- @include "limits"
--- @include "owned_job"
--- @include "queue_event"

local id = ARGV[2]
local queue = owned_job(id, ARGV[3], ARGV[4])
if not queue then return cjson.encode({ ok = false }) end
local key = K.job(id)

if ARGV[5] ~= '' or ARGV[6] ~= '' then
  if ARGV[5] ~= '' then redis.call('HSET', key, 'progress', ARGV[5]) end
  local f = redis.call('HMGET', key, 'progress', 'meta', 'task', 'attempts')
  local meta = f[2] or '{}'
  if ARGV[6] ~= '' then
    local merged = cjson.decode(meta)
    for field, value in pairs(cjson.decode(ARGV[6])) do merged[field] = value end
    -- an empty table would encode as [] after a round trip through cjson.decode
    meta = next(merged) and cjson.encode(merged) or '{}'
    redis.call('HSET', key, 'meta', meta)
  end
  redis.call('PUBLISH', K.events(id), '{"progress":' .. (f[1] or 'null') .. ',"meta":' .. meta .. '}')
  local small = f[1] and #f[1] <= LIMITS.queue_event_value_bytes
  queue_event(queue, 'progress', event_view(id, nil, 'started', { 'task', f[3] or '', 'attempts', f[4] or '0' }),
    small and ',"progress":' .. f[1] or nil)
end

local added = #ARGV - 7
if added == 0 and ARGV[7] == '0' then return cjson.encode({ ok = true }) end
local logs = K.logs(id)
local bytes = tonumber(redis.call('HGET', key, 'logBytes')) or 0
local held
if added > 0 then
  for i = 8, #ARGV do bytes = bytes + #ARGV[i] end
  held = redis.call('RPUSH', logs, unpack(ARGV, 8))
else
  held = redis.call('LLEN', logs)
end
-- the oldest lines go: past the count at once, then one at a time past the bytes (bounded by the count)
local over = held - LIMITS.max_log_lines
if over > 0 then
  for _, line in ipairs(redis.call('LRANGE', logs, 0, over - 1)) do bytes = bytes - #line end
  redis.call('LTRIM', logs, over, -1)
  held = held - over
end
while bytes > LIMITS.max_log_bytes and held > 0 do
  bytes = bytes - #redis.call('LPOP', logs)
  held = held - 1
end
local total = redis.call('HINCRBY', key, 'logs', added + tonumber(ARGV[7]))
redis.call('HSET', key, 'logBytes', bytes)
redis.call('PUBLISH', K.events(id), '{"log":' .. total .. '}')
return cjson.encode({ ok = true })
