--- @include "keys"
--- @include "limits"
--- @include "job_get"
--- @include "to_terminal"

-- A job that will never finish takes the jobs waiting for it down with it,
-- transitively, so no deferred job waits forever. At most a batch of
-- dependents per call: what is left waits in the cascade list for the next
-- maintenance pass, so one failure cannot stall Redis however many jobs
-- depend on it.
local function cancel_dependents(id, now)
  local pending = { id }
  local budget = LIMITS.batch
  while #pending > 0 and budget > 0 do
    local parent = table.remove(pending)
    local dependents = redis.call('SPOP', K.dependents(parent), budget)
    budget = budget - #dependents
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
        table.insert(pending, child)
      end
    end
    if redis.call('EXISTS', K.dependents(parent)) == 1 then table.insert(pending, parent) end
  end
  for _, parent in ipairs(pending) do redis.call('RPUSH', K.cascade(), 'cancel:' .. parent) end
end
