-- get-logs: a page of a job's log lines (ctx.log), in one snapshot with the
-- counts that number them. A line's number counts every line the job ever
-- wrote, the dropped ones too, so a page's numbers stay put as older lines
-- are dropped and a follower asks from where it left off.
-- KEYS[1] the job's hash, KEYS[2] its log: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] job id
-- ARGV[3] offset: the number of the first line wanted ('' for the last `limit` lines)
-- ARGV[4] limit: how many lines at most
-- Returns { found = false } or { found = true, total = lines ever written, held = lines kept,
--   first = the number of the first line answered, lines = [JSON] }
--- @key-locking
--- @include "keys"

local id, offset, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local f = redis.call('HMGET', K.job(id), 'status', 'logs')
if not f[1] then return cjson.encode({ found = false }) end
local total = tonumber(f[2]) or 0
if total == 0 then return cjson.encode({ found = true, total = 0, held = 0, first = 0 }) end
local logs = K.logs(id)
local held = redis.call('LLEN', logs)
local from = math.max(held - limit, 0)
if offset then from = math.min(math.max(offset - (total - held), 0), held) end
local lines = {}
if from < held then lines = redis.call('LRANGE', logs, from, from + limit - 1) end
return cjson.encode({ found = true, total = total, held = held, first = total - held + from, lines = lines })
