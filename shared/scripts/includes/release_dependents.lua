--- @include "keys"
--- @include "limits"
--- @include "job_get"
--- @include "requeue_waiting"
--- @include "schedule"

-- A finished job lets go of the deferred jobs that waited for it alone:
-- they are queued, or scheduled when their runAt is still ahead. At most a
-- batch per call; the rest waits in the cascade list for maintenance.
local function release_dependents(id, now)
  local dependents = redis.call('SPOP', K.dependents(id), LIMITS.batch)
  for _, child in ipairs(dependents) do
    redis.call('SREM', K.dependencies(child), id)
    local queue = job_get(child, 'queue')
    if queue and job_get(child, 'status') == 'deferred' and redis.call('SCARD', K.dependencies(child)) == 0 then
      redis.call('ZREM', K.registry('deferred', queue), child)
      local run_at = tonumber(job_get(child, 'runAt') or '0')
      if run_at > now then
        schedule(child, queue, 'deferred', run_at)
      else
        requeue_waiting(child, queue, 'deferred', now)
      end
    end
  end
  if #dependents == LIMITS.batch and redis.call('EXISTS', K.dependents(id)) == 1 then
    redis.call('RPUSH', K.cascade(), 'release:' .. id)
  end
end
