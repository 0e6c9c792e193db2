-- configure-group: changes one group's own policy in a queue, over the
-- queue's default (settings.groups): concurrency (at most this many of the
-- group's jobs started at once across the fleet), limit ({ max, perMs }) and
-- paused. A field set to null is removed. A group that may start jobs again
-- takes its turn in the rotation, and the queue gets its wake marker.
-- KEYS[1] the queues set (routes to the hash slot)
-- ARGV[1] key root
-- ARGV[2] queue name
-- ARGV[3] group name
-- ARGV[4] the policy fields to change, a JSON object
-- Returns { policy = the group's own policy now, effective = with the queue's default }
--- @include "keys"
--- @include "arm"
--- @include "settings_of"
--- @include "tally"
--- @include "policy_of"
--- @include "list_group"
--- @include "group_waiting"

local queue, group = ARGV[2], ARGV[3]
local policies = K.groupPolicies(queue)
local current = redis.call('HGET', policies, group)
local policy = current and cjson.decode(current) or {}
for field, value in pairs(cjson.decode(ARGV[4])) do
  if value == cjson.null or value == false then policy[field] = nil else policy[field] = value end
end
if next(policy) then
  redis.call('HSET', policies, group, cjson.encode(policy))
  redis.call('ZADD', K.groups(queue), 'NX', 0, group)
else
  redis.call('HDEL', policies, group)
  tally(queue, group, 0)
end
redis.call('ZADD', K.queues(), 'NX', 0, queue)
local effective = policy_of(queue, group)
if not effective.paused and redis.call('EXISTS', group_waiting(queue, group)) == 1 then
  list_group(queue, group)
  arm(queue)
end
return cjson.encode({ policy = policy, effective = effective })
