--- @include "keys"
--- @include "limits"
--- @include "leave_started"
--- @include "to_terminal"
--- @include "cancel_dependents"
--- @include "requeue_waiting"
--- @include "schedule"
--- @include "keep_attempt"

-- The one place that decides between retry and failure for a started job:
-- used when a horse reports an error and when a lease runs out.
local function fail_or_retry(id, now, err, retryable)
  local key = K.job(id)
  local f = redis.call('HMGET', key, 'queue', 'stopRequested', 'attempts', 'retry')
  local queue = f[1]
  leave_started(id, queue)
  if f[2] == '1' then
    if to_terminal(id, queue, 'started', 'stopped', now, { 'error', err }) then cancel_dependents(id, now) end
    return 'stopped'
  end
  local attempts = tonumber(f[3] or '0')
  if retryable and f[4] then
    local retry = cjson.decode(f[4])
    if attempts <= (retry.max or 0) then
      redis.call('HSET', key, 'error', err, keep_attempt(id, 'failed', now, err))
      redis.call('HDEL', key, 'workerName')
      local delay = 0
      local backoff = retry.backoff
      if backoff then
        delay = backoff.delayMs or 0
        if backoff.type == 'exponential' then delay = delay * math.pow(2, attempts - 1) end
        delay = math.min(delay, LIMITS.max_backoff_ms)
      end
      if delay > 0 then
        schedule(id, queue, 'started', now + delay)
        return 'scheduled'
      end
      requeue_waiting(id, queue, 'started', now)
      return 'queued'
    end
  end
  if to_terminal(id, queue, 'started', 'failed', now, { 'error', err }) then cancel_dependents(id, now) end
  return 'failed'
end
