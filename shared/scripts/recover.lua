-- recover: the maintenance pass, run by whichever worker takes the lock first
-- (about once a minute across the whole fleet). started jobs whose lease ran
-- out are retried or failed with AbandonedJobError; due scheduled jobs are
-- queued; registry entries of expired jobs and dead workers are dropped; and
-- a queue with waiting jobs gets its wake marker back, in case a worker took
-- the marker and died before claiming.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] lock time, ms (the interval between passes)
-- Returns { ran = bool, recovered = n, promoted = n }
--- @include "keys"
--- @include "statuses"
--- @include "job_get"
--- @include "arm"
--- @include "promote_due"
--- @include "fail_or_retry"

local now = tonumber(ARGV[2])
if not redis.call('SET', K.maintenanceLock(), '1', 'NX', 'PX', ARGV[3]) then
  return cjson.encode({ ran = false, recovered = 0, promoted = 0 })
end

local recovered, promoted = 0, 0
local err = cjson.encode({
  name = 'AbandonedJobError',
  message = 'its worker stopped renewing the lease (the worker died or lost Redis)',
})
for _, queue in ipairs(redis.call('SMEMBERS', K.queues())) do
  local started = K.registry('started', queue)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', started, '-inf', now, 'LIMIT', 0, 1000)) do
    if job_get(id, 'status') == 'started' then
      fail_or_retry(id, now, err, true)
      recovered = recovered + 1
    else
      redis.call('ZREM', started, id)
    end
  end
  promoted = promoted + promote_due(queue, now)
  for _, status in ipairs(STATUS.terminal_list) do
    redis.call('ZREMRANGEBYSCORE', K.registry(status, queue), '-inf', now)
  end
  if redis.call('LLEN', K.queue(queue)) > 0 then arm(queue) end
end
redis.call('ZREMRANGEBYSCORE', K.workers(), '-inf', now)
return cjson.encode({ ran = true, recovered = recovered, promoted = promoted })
