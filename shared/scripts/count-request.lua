-- count-request: counts a request against its API key's limit in fixed
-- windows. One counter per key and window, born with the window's expiry: a
-- request costs one INCR (and a PEXPIRE for the window's first), an idle key
-- holds nothing, and the end of the window is an exact Retry-After. The expiry
-- is relative: an edge whose clock is behind Redis's must not create counters
-- that are already dead.
-- KEYS[1] the key's counter of the window now falls in: all it touches (key-locking)
-- ARGV[1] key root
-- ARGV[2] now, epoch ms
-- ARGV[3] the API key's id (a digest, never the key)
-- ARGV[4] requests allowed per window
-- ARGV[5] window length, ms
-- Returns { allowed = boolean, count = requests in the window including this one, resetAt = epoch ms the window ends }
--- @key-locking
--- @include "keys"

local now = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
local length = tonumber(ARGV[5])
local window = math.floor(now / length)
local reset_at = (window + 1) * length
local key = K.requests(ARGV[3], string.format('%d', window))
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, string.format('%d', reset_at - now)) end
return cjson.encode({ allowed = count <= limit, count = count, resetAt = reset_at })
