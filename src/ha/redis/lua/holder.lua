-- Reads the lease's value and its time to live together.
--
-- KEYS[1]  the lease
-- Returns { value or false, time to live in ms (negative when none) }.
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }
