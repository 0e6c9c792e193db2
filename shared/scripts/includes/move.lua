--- @include "keys"
--- @include "statuses"
--- @include "queue_event"

-- Every status change goes through here and is checked against the map in
-- shared/status.ts (from = nil: a job being created), so a script cannot
-- make a move the map does not name. Further fields are set with the status,
-- and the change is published on the job's channel (SSE, waitFor) as the
-- status's bare name; not a new job's, since nothing follows a job that does
-- not exist yet, and not an ending, which to_terminal publishes with the job.
-- The queue's event stream gets every change but an ending (to_terminal's too).
local function move(id, queue, from, to, ...)
  local allowed = from and STATUS.moves[from] or STATUS.created
  if not allowed[to] then
    error('edgeq: job ' .. id .. ' may not move from ' .. tostring(from) .. ' to ' .. to)
  end
  redis.call('HSET', K.job(id), 'status', to, ...)
  if STATUS.terminal[to] then return end
  if from then redis.call('PUBLISH', K.events(id), to) end
  queue_event(queue, to, event_view(id, from, to, { ... }))
end
