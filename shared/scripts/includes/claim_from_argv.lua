--- @include "claim_jobs"

-- ARGV from position 'from' on: lease, how many, queue names. Absent: nil.
local function claim_from_argv(now, worker, from)
  if not ARGV[from] then return nil end
  local queues = {}
  for i = from + 2, #ARGV do table.insert(queues, ARGV[i]) end
  return claim_jobs(now, tonumber(ARGV[from]), worker, tonumber(ARGV[from + 1]), queues)
end
