--- @include "keys"

-- Keeps the worker's entry current in the same call that changed its work:
-- what it runs now, its state (busy or idle; a stopping worker gives its own,
-- which a claim behind its wait obeys: see claim.lua), and for reports its
-- counters ({ processed = n, failed = n }). An entry that ran out (no
-- heartbeat for a while) is left for the next heartbeat to write.
local function worker_step(worker, running, counts, stopping)
  local key = K.worker(worker)
  if redis.call('EXISTS', key) == 0 then return end
  for counter, n in pairs(counts) do redis.call('HINCRBY', key, counter, n) end
  local state = stopping ~= '' and stopping or #running > 0 and 'busy' or 'idle'
  redis.call('HSET', key, 'state', state, 'currentJobs', table.concat(running, ','))
end
