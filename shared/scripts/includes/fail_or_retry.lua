--- @include "keys"
--- @include "to_terminal"
--- @include "cancel_dependents"
--- @include "push_waiting"
--- @include "schedule"

-- The one place that decides between retry and failure for a started job:
-- used when a horse reports an error and when a lease runs out.
local function fail_or_retry(id, now, err, retryable)
  local key = K.job(id)
  local queue = redis.call('HGET', key, 'queue')
  redis.call('ZREM', K.registry('started', queue), id)
  if redis.call('HGET', key, 'stopRequested') == '1' then
    to_terminal(id, queue, 'started', 'stopped', now, { 'error', err })
    cancel_dependents(id, now)
    return 'stopped'
  end
  local attempts = tonumber(redis.call('HGET', key, 'attempts') or '0')
  local retry = redis.call('HGET', key, 'retry')
  if retryable and retry then
    retry = cjson.decode(retry)
    if attempts <= (retry.max or 0) then
      redis.call('HSET', key, 'error', err)
      redis.call('HDEL', key, 'workerName')
      local delay = 0
      local backoff = retry.backoff
      if backoff then
        delay = backoff.delayMs or 0
        if backoff.type == 'exponential' then delay = delay * math.pow(2, attempts - 1) end
      end
      if delay > 0 then
        schedule(id, queue, 'started', now + delay)
        return 'scheduled'
      end
      push_waiting(id, queue, 'started', now, false)
      return 'queued'
    end
  end
  to_terminal(id, queue, 'started', 'failed', now, { 'error', err })
  cancel_dependents(id, now)
  return 'failed'
end
