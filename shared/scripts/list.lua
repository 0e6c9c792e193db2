-- list: a page of a queue's jobs in one status, in the order an operator
-- reads them: queued in the order they will be claimed, scheduled by due
-- time, started by lease, deferred by age, and finished, failed, stopped and
-- canceled newest first (by expiry, which is by end for jobs of one TTL).
-- Each page costs O(log n + limit). The cursor is the last score of the
-- previous page and how many jobs with that very score it held.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] queue name
-- ARGV[4] status
-- ARGV[5] how many at most
-- ARGV[6] cursor score ('' for the first page)
-- ARGV[7] cursor count (jobs with that score already listed)
-- Returns { jobs = [ job hash ], score, count } where score and count are the
-- next page's cursor, absent on the last page
--- @include "keys"
--- @include "statuses"
--- @include "job_table"

local now, queue, status = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local limit = tonumber(ARGV[5])
local newest_first = STATUS.terminal[status]
local key = status == 'queued' and K.waiting(queue) or K.registry(status, queue)
local from = ARGV[6]
local skip = tonumber(ARGV[7]) or 0
local entries
if newest_first then
  -- entries past their job's TTL linger until maintenance drops them: not listed
  entries = redis.call('ZREVRANGEBYSCORE', key, from ~= '' and from or '+inf', now, 'WITHSCORES', 'LIMIT', skip, limit)
elseif status == 'queued' and redis.call('EXISTS', K.grouped(queue)) == 1 then
  -- a grouped queue's waiting jobs are in two sets that share the queue's
  -- arrival counter, so no two of them have one score: a page merges the next
  -- scores of both, after the cursor's
  local after = from ~= '' and '(' .. from or '-inf'
  local a = redis.call('ZRANGEBYSCORE', key, after, '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
  local b = redis.call('ZRANGEBYSCORE', K.grouped(queue), after, '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
  entries = {}
  local i, j = 1, 1
  while #entries < 2 * limit and (i <= #a or j <= #b) do
    if j > #b or (i <= #a and tonumber(a[i + 1]) < tonumber(b[j + 1])) then
      table.insert(entries, a[i])
      table.insert(entries, a[i + 1])
      i = i + 2
    else
      table.insert(entries, b[j])
      table.insert(entries, b[j + 1])
      j = j + 2
    end
  end
  from, skip = nil, 0
else
  entries = redis.call('ZRANGEBYSCORE', key, from ~= '' and from or '-inf', '+inf', 'WITHSCORES', 'LIMIT', skip, limit)
end

local jobs = {}
local last, same = nil, 0
for i = 1, #entries, 2 do
  local job = job_table(entries[i])
  -- a stale entry (its job expired or moved on) still moves the cursor
  if job and job.status == status then table.insert(jobs, job) end
  if entries[i + 1] == last then same = same + 1 else last, same = entries[i + 1], 1 end
end
local reply = { jobs = jobs }
if #entries == 2 * limit then
  reply.score = last
  reply.count = last == from and skip + same or same
end
return cjson.encode(reply)
