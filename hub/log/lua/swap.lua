-- KEYS: head, log, staged log, the m channel streams now, the n staged channel streams,
-- their n final names. ARGV: expected offset and epoch, new offset and epoch, publish
-- command, bell channel, the last batch, m, n. On a moved head, the staged keys go.
local m, n = tonumber(ARGV[8]), tonumber(ARGV[9])
local head = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
if head[1] ~= ARGV[1] or head[2] ~= ARGV[2] then
  redis.call('DEL', KEYS[3])
  for i = 1, n do redis.call('DEL', KEYS[3 + m + i]) end
  return {'conflict', head[1], head[2]}
end
redis.call('DEL', KEYS[2])
for i = 1, m do redis.call('DEL', KEYS[3 + i]) end
redis.call('RENAME', KEYS[3], KEYS[2])
redis.call('PERSIST', KEYS[2])
for i = 1, n do
  redis.call('RENAME', KEYS[3 + m + i], KEYS[3 + m + n + i])
  redis.call('PERSIST', KEYS[3 + m + n + i])
end
redis.call('HSET', KEYS[1], 'offset', ARGV[3], 'epoch', ARGV[4])
redis.call(ARGV[5], ARGV[6], ARGV[7])
return {'ok'}
