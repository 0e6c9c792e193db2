--- @include "keys"

-- Keeps the worker's entry current in the same call that changed its work:
-- what it runs now, its state (busy or idle; a stopping worker gives its own,
-- which a claim behind its wait obeys: see claim.lua), and for reports its
-- counters ({ processed = n, failed = n }). An entry that ran out (no
-- heartbeat for a while) is left for the next heartbeat to write: every
-- heartbeat writes both fields, so an HSET that adds one found no entry,
-- and what it wrote goes (one command less than asking first, each call).
local function worker_step(worker, running, counts, stopping)
  local key = K.worker(worker)
  local state = stopping ~= '' and stopping or #running > 0 and 'busy' or 'idle'
  if redis.call('HSET', key, 'state', state, 'currentJobs', table.concat(running, ',')) > 0 then
    redis.call('DEL', key)
    return
  end
  for counter, n in pairs(counts) do redis.call('HINCRBY', key, counter, n) end
end
