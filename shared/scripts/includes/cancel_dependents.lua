--- @include "keys"
--- @include "job_get"
--- @include "to_terminal"
--- @include "cascade"

-- A job that will never finish takes the jobs waiting for it down with it,
-- transitively, so no deferred job waits forever, within the call's cascade
-- budget: what is left waits in the cascade list for the next maintenance
-- pass, so one failure cannot stall Redis however many jobs depend on it.
local function cancel_dependents(id, now)
  local pending = redis.call('EXISTS', K.dependents(id)) == 1 and { id } or {}
  while #pending > 0 and cascade_budget > 0 do
    local parent = table.remove(pending)
    local dependents = redis.call('SPOP', K.dependents(parent), cascade_budget)
    cascade_budget = cascade_budget - #dependents
    for _, child in ipairs(dependents) do
      local queue = job_get(child, 'queue')
      if queue and job_get(child, 'status') == 'deferred' then
        redis.call('ZREM', K.registry('deferred', queue), child)
        redis.call('DEL', K.dependencies(child))
        local err = cjson.encode({
          name = 'DependencyFailedError',
          message = 'dependency ' .. parent .. ' did not finish',
        })
        to_terminal(child, queue, 'deferred', 'canceled', now, { 'error', err })
        if redis.call('EXISTS', K.dependents(child)) == 1 then table.insert(pending, child) end
      end
    end
    if redis.call('EXISTS', K.dependents(parent)) == 1 then table.insert(pending, parent) end
  end
  for _, parent in ipairs(pending) do cascade_later('cancel', parent) end
end
