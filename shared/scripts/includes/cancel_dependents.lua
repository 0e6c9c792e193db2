--- @include "keys"
--- @include "job_get"
--- @include "to_terminal"

-- A job that will never finish takes the jobs waiting for it down with it,
-- transitively, so no deferred job waits forever.
local function cancel_dependents(id, now)
  local pending = { id }
  while #pending > 0 do
    local parent = table.remove(pending)
    local dependents = redis.call('SMEMBERS', K.dependents(parent))
    redis.call('DEL', K.dependents(parent))
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
  end
end
