-- On a cluster, `meta` and `presence` are scripts rather than MULTI pipelines: they then
-- go through the cluster client's bounded command path like every other command.
-- KEYS: the meta hash. ARGV: field, default.
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
