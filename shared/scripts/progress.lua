-- progress: a running task's progress and meta, as its worker passes them
-- on (coalesced: a few writes a second at most, the last one before the
-- outcome). Written only while the worker still holds the job, and published
-- on the job's channel for SSE as JSON { progress, meta } (a status change is
-- published as its bare name), so a stream forwards it without a read.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] worker name (the job must still be held by it)
-- ARGV[4] the claim it holds the job by (its lease token)
-- ARGV[5] progress, JSON ('' to leave it)
-- ARGV[6] fields to merge into meta, a JSON object ('' for none)
-- Returns { ok = false when the worker no longer holds the job }
--- @include "keys"
--- @include "owned_job"

local id = ARGV[2]
if not owned_job(id, ARGV[3], ARGV[4]) then return cjson.encode({ ok = false }) end
local key = K.job(id)
if ARGV[5] ~= '' then redis.call('HSET', key, 'progress', ARGV[5]) end
local f = redis.call('HMGET', key, 'progress', 'meta')
local meta = f[2] or '{}'
if ARGV[6] ~= '' then
  local merged = cjson.decode(meta)
  for field, value in pairs(cjson.decode(ARGV[6])) do merged[field] = value end
  -- an empty table would encode as [] after a round trip through cjson.decode
  meta = next(merged) and cjson.encode(merged) or '{}'
  redis.call('HSET', key, 'meta', meta)
end
redis.call('PUBLISH', K.events(id), '{"progress":' .. (f[1] or 'null') .. ',"meta":' .. meta .. '}')
return cjson.encode({ ok = true })
