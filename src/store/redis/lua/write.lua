-- A write of records. Fenced (a token given, `--ha`): applied only while the epoch is the writer's
-- token, and announced to standbys as a numbered entry of the change stream (mirror.ts); unfenced
-- (an empty token): applied as it is.
--
-- KEYS[1]  the epoch (the lease's fencing counter)
-- KEYS[2]  the index (a set of every record's member)
-- KEYS[3]  the change stream
-- KEYS[4]  the change stream's sequence number
-- KEYS[5..] the puts' record keys, then the deletes' record keys
-- ARGV[1]  the token, or '' (unfenced)
-- ARGV[2]  the number of puts
-- ARGV[3]  the change stream's approximate length (MAXLEN ~)
-- ARGV[4]  the JSON list of the batch's index members (for the change stream)
-- ARGV[5..] the puts' texts, then the puts' index members, then the deletes' index members
-- Returns the number of records put and deleted; an error `FENCED ...` when another leads.
local fenced = ARGV[1] ~= ''
if fenced then
  local current = redis.call('GET', KEYS[1])
  if current ~= ARGV[1] then
    return redis.error_reply('FENCED this scheduler (epoch ' .. ARGV[1] .. ') no longer leads; epoch ' .. tostring(current) .. ' does')
  end
end
local puts = tonumber(ARGV[2])
local dels = #KEYS - 4 - puts
for i = 1, puts do
  redis.call('SET', KEYS[4 + i], ARGV[4 + i])
  redis.call('SADD', KEYS[2], ARGV[4 + puts + i])
end
for i = 1, dels do
  redis.call('DEL', KEYS[4 + puts + i])
  redis.call('SREM', KEYS[2], ARGV[4 + 2 * puts + i])
end
if fenced then
  local seq = redis.call('INCR', KEYS[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 's', seq, 'k', ARGV[4])
end
return puts + dels
