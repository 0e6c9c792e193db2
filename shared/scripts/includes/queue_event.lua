--- @include "keys"
--- @include "limits"

-- A queue's event stream (GET /v1/queues/:queue/events, Queue.events): each
-- transition of one of its jobs appends one entry, `event` (the status, or
-- 'progress') and `data`, JSON of `view` (the job's id, its status and what
-- the caller holds of it already: an event never costs a read). MAXLEN ~
-- lets Redis trim a whole node of old entries now and then instead of one
-- per append, so the stream stays near its cap at a flat cost.
-- `raw`: members already encoded (',"progress":…'), kept as the task wrote them.
local function queue_event(queue, event, view, raw)
  local data = cjson.encode(view)
  if raw then data = data:sub(1, -2) .. raw .. '}' end
  redis.call('XADD', K.queueEvents(queue), 'MAXLEN', '~', LIMITS.queue_events_max_len, '*', 'event', event,
    'data', data)
end

-- At most queue_event_value_bytes of text, cut where a UTF-8 character starts.
local function clipped(text)
  local cut = LIMITS.queue_event_value_bytes
  if #text <= cut then return text end
  while cut > 0 and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do cut = cut - 1 end
  return text:sub(1, cut)
end

-- An event's view of the hash fields a move sets (name, value, …): the task
-- when the job is made, its attempt when it starts, runAt when it is scheduled,
-- the name and message of its error when it ends with one.
local function event_view(id, from, status, fields)
  local view = { id = id, status = status, from = from }
  for i = 1, #fields - 1, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 'task' then
      view.task = value
    elseif name == 'attempts' and (tonumber(value) or 0) > 0 then
      view.attempt = tonumber(value)
    elseif name == 'runAt' then
      view.runAt = tonumber(value)
    elseif name == 'error' then
      -- pcall: the call has written already, and a view must not undo it
      local ok, err = pcall(cjson.decode, value)
      if ok and type(err) == 'table' and type(err.message) == 'string' then
        view.error = { name = err.name, message = clipped(err.message) }
      end
    end
  end
  return view
end
