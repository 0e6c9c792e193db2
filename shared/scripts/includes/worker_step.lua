--- @include "keys"

-- Keeps the worker's entry current in the same call that changed its work:
-- what it runs now, its state, and (for a report) its counters. An entry that
-- ran out (no heartbeat for a while) is left for the next heartbeat to write.
local function worker_step(worker, running, counter)
  local key = K.worker(worker)
  if redis.call('EXISTS', key) == 0 then return end
  if counter then redis.call('HINCRBY', key, counter, 1) end
  redis.call('HSET', key, 'state', #running > 0 and 'busy' or 'idle', 'currentJobs', table.concat(running, ','))
end
