--- @include "keys"
--- @include "move"

local TTL_FIELD = {
  finished = 'resultTtlSec',
  failed = 'failureTtlSec',
  stopped = 'failureTtlSec',
  canceled = 'failureTtlSec',
}

-- Moves a job into a terminal registry; the job hash and its registry entry
-- both expire after the job's TTL for that outcome. 'fields' are set, 'drop'
-- removed, besides what every terminal job loses.
local function to_terminal(id, queue, from, status, now, fields, drop)
  local key = K.job(id)
  local ttl = tonumber(redis.call('HGET', key, TTL_FIELD[status]))
  local expires_at = now + ttl * 1000
  move(id, from, status, 'endedAt', now, unpack(fields))
  redis.call('HDEL', key, 'stopRequested', 'workerName', unpack(drop or {}))
  redis.call('ZADD', K.registry(status, queue), expires_at, id)
  redis.call('PEXPIRE', key, ttl * 1000)
end
