-- KEYS: head. ARGV: the epoch expected, the fresh one.
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return ARGV[2] end
if epoch == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
  return ARGV[2]
end
return epoch
