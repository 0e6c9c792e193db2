--- @include "keys"
--- @include "job_get"
--- @include "requeue_waiting"
--- @include "schedule"
--- @include "cascade"

-- A finished job lets go of the deferred jobs that waited for it alone:
-- they are queued, or scheduled when their runAt is still ahead. Within the
-- call's cascade budget; the rest waits in the cascade list for maintenance.
local function release_dependents(id, now)
  if cascade_budget == 0 then
    if redis.call('EXISTS', K.dependents(id)) == 1 then cascade_later('release', id) end
    return
  end
  local dependents = redis.call('SPOP', K.dependents(id), cascade_budget)
  cascade_budget = cascade_budget - #dependents
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
  if cascade_budget == 0 and redis.call('EXISTS', K.dependents(id)) == 1 then cascade_later('release', id) end
end
