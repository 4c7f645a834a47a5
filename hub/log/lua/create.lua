-- create: the first batch of a session that has no head yet.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
local err = check_streams(n)
if err then return redis.error_reply(err) end
write_batch(n)
if #KEYS > 2 + n then redis.call('SADD', KEYS[#KEYS], ARGV[6]) end
return {'ok'}
