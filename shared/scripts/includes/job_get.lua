--- @include "keys"

-- One field of a job's hash.
local function job_get(id, field)
  return redis.call('HGET', K.job(id), field)
end
