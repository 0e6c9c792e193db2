--- @include "keys"

-- The job's queue if it is started and held by this worker, else nil: a
-- worker whose lease ran out must not overwrite what recovery decided.
local function owned_job(id, worker)
  local f = redis.call('HMGET', K.job(id), 'status', 'workerName', 'queue')
  if f[1] ~= 'started' or f[2] ~= worker then return nil end
  return f[3]
end
