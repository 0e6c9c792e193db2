--- @include "push_waiting"

-- push_waiting for a job that already exists: its own priority, atFront and
-- group.
local function requeue_waiting(id, queue, from, now)
  local f = redis.call('HMGET', K.job(id), 'atFront', 'priority', 'group')
  push_waiting(id, queue, from, now, f[1] == '1', f[2], f[3])
end
