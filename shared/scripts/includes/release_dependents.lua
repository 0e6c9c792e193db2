--- @include "keys"
--- @include "job_get"
--- @include "push_waiting"
--- @include "schedule"

-- A finished job lets go of the deferred jobs that waited for it alone:
-- they are queued, or scheduled when their runAt is still ahead.
local function release_dependents(id, now)
  local dependents = redis.call('SMEMBERS', K.dependents(id))
  if #dependents == 0 then return end
  redis.call('DEL', K.dependents(id))
  for _, child in ipairs(dependents) do
    redis.call('SREM', K.dependencies(child), id)
    local queue = job_get(child, 'queue')
    if queue and job_get(child, 'status') == 'deferred' and redis.call('SCARD', K.dependencies(child)) == 0 then
      redis.call('ZREM', K.registry('deferred', queue), child)
      local run_at = tonumber(job_get(child, 'runAt') or '0')
      if run_at > now then
        schedule(child, queue, 'deferred', run_at)
      else
        push_waiting(child, queue, 'deferred', now, job_get(child, 'atFront') == '1')
      end
    end
  end
end
