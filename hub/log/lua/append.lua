-- append: the batch goes on when the head is offset - 1 under the same epoch.
local head = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
if not head[1] then return {'missing'} end
if tonumber(head[1]) ~= tonumber(ARGV[1]) - 1 or head[2] ~= ARGV[2] then
  return {'conflict', head[1], head[2]}
end
local err = check_streams(n)
if err then return redis.error_reply(err) end
write_batch(n)
return {'ok'}
