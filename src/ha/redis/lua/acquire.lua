-- Takes the lease when it is free, with a new epoch (the fencing token).
--
-- KEYS[1]  the lease (value `identity|epoch`, with a time to live)
-- KEYS[2]  the epoch counter
-- ARGV[1]  this instance's identity prefix
-- ARGV[2]  the time to live (ms)
-- Returns the new epoch, or false when another holds the lease.
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
return epoch
