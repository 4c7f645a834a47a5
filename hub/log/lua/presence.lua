-- On a cluster (see meta.lua). KEYS: the presence hash. ARGV: this instance's field, its
-- entry, the expiry in seconds.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
