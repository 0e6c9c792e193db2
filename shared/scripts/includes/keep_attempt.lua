--- @include "keys"
--- @include "limits"

-- Keeps the outcome of an attempt that is about to be overwritten (a retry,
-- a requeue), as rq 2 keeps a job's results: newest first, a bounded number.
-- A job that ends at its first attempt pays nothing: its outcome is the job.
-- Answers the hash field that says the job has a list of attempts, for the
-- caller's next HSET of the job (to_terminal expires the list only then).
local function keep_attempt(id, status, now, err)
  local f = redis.call('HMGET', K.job(id), 'attempts', 'startedAt', 'workerName', 'result', 'error', 'endedAt')
  local attempt = {
    attempt = tonumber(f[1]),
    status = status,
    startedAt = tonumber(f[2]),
    endedAt = tonumber(f[6]) or now,
    worker = f[3] or nil,
    result = f[4] and cjson.decode(f[4]) or nil,
    error = cjson.decode(err or f[5] or 'null'),
  }
  redis.call('LPUSH', K.attempts(id), cjson.encode(attempt))
  redis.call('LTRIM', K.attempts(id), 0, LIMITS.attempts_kept - 1)
  return 'attemptsKept', '1'
end
