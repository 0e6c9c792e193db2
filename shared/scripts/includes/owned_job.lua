--- @include "keys"

-- The job's queue if it is started and held by this worker under this claim,
-- else nil: a worker whose lease ran out must not overwrite what recovery
-- decided, even once the job is started again by a worker of the same name
-- or by itself. The claim is the job's `claims` count when it was taken (its
-- lease token): every claim adds one, and nothing takes one back. `also`:
-- further fields the caller needs next, read in the same HMGET and answered
-- second, in that order.
local function owned_job(id, worker, claim, also)
  local f = redis.call('HMGET', K.job(id), 'status', 'workerName', 'queue', 'claims', unpack(also or {}))
  if f[1] ~= 'started' or f[2] ~= worker or f[4] ~= claim then return nil end
  return f[3], { select(5, unpack(f)) }
end
