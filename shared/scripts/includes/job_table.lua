--- @include "keys"
--- @include "hash_table"

-- A job's whole hash as a table, or nil when there is no such job.
local function job_table(id)
  local flat = redis.call('HGETALL', K.job(id))
  if #flat == 0 then return nil end
  return hash_table(flat)
end
