--- @include "keys"
--- @include "limits"
--- @include "move"
--- @include "job_table"
--- @include "outbox_push"
--- @include "resume_parent"
--- @include "settings_of"
--- @include "queue_event"

local TTL_FIELD = {
  finished = 'resultTtlSec',
  failed = 'failureTtlSec',
  stopped = 'failureTtlSec',
  canceled = 'failureTtlSec',
}

-- Run times (seconds) that bound the buckets of edgeq_job_duration_seconds.
local BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800 }

-- Counts the ending for the metrics and the dashboard: per status, per minute
-- (finished and failed, in a key that expires), and the run time of a job
-- that ran.
local function count_ending(queue, status, now, started_at)
  local stats = K.stats(queue)
  redis.call('HINCRBY', stats, status, 1)
  if status ~= 'finished' and status ~= 'failed' then return end
  local minute = K.minute(queue, tostring(math.floor(now / 60000)))
  if redis.call('HINCRBY', minute, status, 1) == 1 then redis.call('EXPIRE', minute, LIMITS.minute_ttl_sec) end
  if not started_at then return end
  local ms = math.max(0, now - tonumber(started_at))
  local bucket = '+Inf'
  for _, le in ipairs(BUCKETS) do
    if ms <= le * 1000 then
      bucket = tostring(le)
      break
    end
  end
  redis.call('HINCRBY', stats, 'le:' .. bucket, 1)
  redis.call('HINCRBY', stats, 'durationMs', ms)
end

-- A queue that keeps only its latest N jobs of a status (settings.keep, as
-- BullMQ's removeOnComplete: { count }) drops the oldest past N, the job that
-- just ended aside: a bounded number per ending, so a lowered N is reached
-- over the next endings, never by a scan.
local function keep_latest(id, queue, status)
  local keep = settings_of({ queue })[queue].keep
  local n = keep and keep[status]
  if not n then return end
  local registry = K.registry(status, queue)
  local over = redis.call('ZCARD', registry) - n
  if over <= 0 then return end
  for _, old in ipairs(redis.call('ZRANGE', registry, 0, math.min(over, LIMITS.batch) - 1)) do
    if old ~= id then
      redis.call('ZREM', registry, old)
      redis.call('DEL', K.job(old), K.attempts(old), K.steps(old), K.logs(old))
    end
  end
end

-- An ending is published with the job as it ended, "<status> <hash as JSON>",
-- when anyone listens on its channel, so that a waiter has what it waited
-- for without a read; as the bare status when nobody listens here (PUBSUB
-- counts this node's subscribers alone: on a cluster, one elsewhere reads).
-- pcall: a server that refused PUBSUB in a script must not stop a call that
-- has written already.
local function publish_ending(id, status)
  local channel = K.events(id)
  local listening = redis.pcall('PUBSUB', 'NUMSUB', channel)
  local message = status
  if type(listening) == 'table' and tonumber(listening[2]) then
    if tonumber(listening[2]) > 0 then message = status .. ' ' .. cjson.encode(job_table(id)) end
  end
  redis.call('PUBLISH', channel, message)
end

-- The job hash fields an ending reads; from DROPPED_FROM on, those it
-- removes, read so that a job without them (most) pays no HDEL.
local DROPPED_FROM = 13
local function ending_fields(status, drop)
  return { TTL_FIELD[status], 'startedAt', 'callbackUrl', 'steps', 'parent', 'parentStep', 'logs', 'task', 'attempts',
    'attemptsKept', 'dependents', 'marked', 'stopRequested', unpack(drop or {}) }
end

-- Moves a job into a terminal registry; the job hash, its earlier attempts,
-- its recorded steps, its log and its registry entry all expire after the
-- job's TTL for that outcome.
-- 'fields' are set, 'drop' removed, besides what every terminal job loses.
-- workerName stays: the job is its final attempt, which keeps its worker as
-- the earlier ones do (nothing reads it as "running now" past started).
-- A job a durable task invoked resumes its parent with its outcome.
-- The queue's event stream gets the ending with the job's task and attempt.
-- Answers whether jobs were ever made to wait for this one, so that the
-- caller looks for dependents only then. A job's hash says which of its
-- other keys it has (see create_job): a plain job pays for none of them.
-- `read`: the values of ending_fields(status, drop), when the caller read
-- them with its own (see step.lua).
local function to_terminal(id, queue, from, status, now, fields, drop, read)
  local key = K.job(id)
  local names = ending_fields(status, drop)
  local f = read or redis.call('HMGET', key, unpack(names))
  -- a job made before create_job marked its keys may have either
  local ttl_ms = tonumber(f[1]) * 1000
  move(id, queue, from, status, 'endedAt', now, unpack(fields))
  local present = {}
  for i = DROPPED_FROM, #names do
    if f[i] then table.insert(present, names[i]) end
  end
  if #present > 0 then redis.call('HDEL', key, unpack(present)) end
  redis.call('ZADD', K.registry(status, queue), now + ttl_ms, id)
  redis.call('PEXPIRE', key, ttl_ms)
  local unmarked = not f[12]
  if f[10] or unmarked then redis.call('PEXPIRE', K.attempts(id), ttl_ms) end
  if f[4] then redis.call('PEXPIRE', K.steps(id), ttl_ms) end
  if f[7] then redis.call('PEXPIRE', K.logs(id), ttl_ms) end
  count_ending(queue, status, now, from == 'started' and f[2] or nil)
  if status == 'finished' or status == 'failed' then keep_latest(id, queue, status) end
  if f[3] then outbox_push(id, now, f[3]) end
  if f[5] then resume_parent(f[5], f[6], id, now, fields) end
  publish_ending(id, status)
  local view = event_view(id, from, status, { 'task', f[8] or '', 'attempts', f[9] or '0', unpack(fields) })
  queue_event(queue, status, view)
  return f[11] ~= false or unmarked
end
