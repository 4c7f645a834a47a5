-- KEYS: head, log, every channel stream. ARGV: the archived head offset. Drops the
-- session's keys only when nothing was appended since the archive was read.
local offset = redis.call('HGET', KEYS[1], 'offset')
if offset ~= ARGV[1] then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
