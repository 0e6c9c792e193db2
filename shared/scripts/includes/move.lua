--- @include "keys"
--- @include "statuses"

-- Every status change goes through here and is checked against the map in
-- shared/status.ts (from = nil: a job being created), so a script cannot
-- make a move the map does not name. Further fields are set with the status,
-- and the change is published on the job's channel (SSE, waitFor) as the
-- status's bare name; not a new job's, since nothing follows a job that does
-- not exist yet, and not an ending, which to_terminal publishes with the job.
local function move(id, from, to, ...)
  local allowed = from and STATUS.moves[from] or STATUS.created
  if not allowed[to] then
    error('edgeq: job ' .. id .. ' may not move from ' .. tostring(from) .. ' to ' .. to)
  end
  redis.call('HSET', K.job(id), 'status', to, ...)
  if from and not STATUS.terminal[to] then redis.call('PUBLISH', K.events(id), to) end
end
