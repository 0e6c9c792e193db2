--- @include "keys"
--- @include "arm"
--- @include "move"

-- Puts a job in its queue's scheduled registry until run_at (epoch ms),
-- setting further fields (...) with its status.
local function schedule(id, queue, from, run_at, ...)
  move(id, queue, from, 'scheduled', 'runAt', run_at, ...)
  redis.call('ZADD', K.registry('scheduled', queue), run_at, id)
  -- wake an idle worker so it sizes its blocking wait to the new due time
  arm(queue)
end
