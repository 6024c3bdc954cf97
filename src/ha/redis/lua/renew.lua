-- Extends the lease if it is still this holder's.
--
-- KEYS[1]  the lease
-- ARGV[1]  the holder's value (`identity|epoch`)
-- ARGV[2]  the time to live (ms)
-- Returns 1 when extended, 0 when the lease is no longer this holder's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
