-- groups: a page of a queue's groups, most loaded first (waiting + started
-- jobs; groups with a policy of their own are listed with none), each with
-- its counts and its policy; with the first page, the jobs without a group
-- and the queue's default policy. Costs O(log n + limit) a page.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] queue name
-- ARGV[3] how many at most
-- ARGV[4] where the page starts: how many groups earlier pages held
-- Returns { groups = [ { name, waiting, started, policy = own, effective } ],
-- total = groups in the index, next = the next page's start when more may
-- follow, ungrouped? = { waiting, started }, default? = policy }
--- @include "keys"
--- @include "settings_of"
--- @include "policy_of"

local queue = ARGV[2]
local limit, offset = tonumber(ARGV[3]), tonumber(ARGV[4])
local names = redis.call('ZREVRANGE', K.groups(queue), offset, offset + limit - 1)
local out = {}
if #names > 0 then
  local active = redis.call('HMGET', K.groupActive(queue), unpack(names))
  local own = redis.call('HMGET', K.groupPolicies(queue), unpack(names))
  for i, group in ipairs(names) do
    table.insert(out, {
      name = group,
      waiting = redis.call('ZCARD', K.groupWaiting(queue, group)),
      started = tonumber(active[i]) or 0,
      policy = own[i] and cjson.decode(own[i]) or {},
      effective = policy_of(queue, group),
    })
  end
end
local reply = { groups = out, total = redis.call('ZCARD', K.groups(queue)) }
if #names == limit then reply.next = offset + limit end
if offset == 0 then
  local settings = settings_of({ queue })[queue]
  -- before a queue turns grouped, its started jobs are all without a group
  local started = settings.grouped and redis.call('HGET', K.groupActive(queue), '')
    or redis.call('ZCARD', K.registry('started', queue))
  reply.ungrouped = { waiting = redis.call('ZCARD', K.waiting(queue)), started = tonumber(started) or 0 }
  reply.default = settings.groups or {}
end
return cjson.encode(reply)
