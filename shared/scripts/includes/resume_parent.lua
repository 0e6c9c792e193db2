--- @include "keys"
--- @include "requeue_waiting"

-- A job a durable task invoked (ctx.invoke) has ended: its outcome (result,
-- or error) is recorded as the invoking step of its parent, and the parent,
-- deferred until then, is queued again to replay up to it. `fields` are the
-- ending's (to_terminal's), which hold the result or the error.
local function resume_parent(parent, step, child, now, fields)
  local f = redis.call('HMGET', K.job(parent), 'status', 'waitFor', 'queue', 'steps')
  if f[1] ~= 'deferred' or f[2] ~= child then return end
  local outcome = { result = 'null', error = nil }
  for i = 1, #fields, 2 do
    if fields[i] == 'result' then outcome.result = fields[i + 1] end
    if fields[i] == 'error' then outcome.error = fields[i + 1] end
  end
  local n = (tonumber(f[4]) or 0) + 1
  local entry = '{"n":' .. n .. ',"startedAt":' .. now .. ',"endedAt":' .. now .. ',"result":' .. outcome.result
  if outcome.error then entry = entry .. ',"error":' .. outcome.error end
  redis.call('HSET', K.steps(parent), step, entry .. ',"child":' .. cjson.encode(child) .. '}')
  redis.call('HSET', K.job(parent), 'steps', n)
  redis.call('HDEL', K.job(parent), 'waitFor')
  redis.call('ZREM', K.registry('deferred', f[3]), parent)
  requeue_waiting(parent, f[3], 'deferred', now)
end
