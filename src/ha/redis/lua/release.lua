-- Gives the lease back if it is still this holder's.
--
-- KEYS[1]  the lease
-- ARGV[1]  the holder's value (`identity|epoch`)
-- Returns 1 when deleted, 0 when the lease is no longer this holder's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
