-- Shared by both write scripts (append.lua and create.lua follow it). KEYS: head, log,
-- one channel stream per event (in event order, repeated when a channel has several
-- events), then for `create` on a plain server the session index. ARGV: offset, epoch,
-- encoded batch, publish command, bell channel, session id, event count n, then n pairs
-- (event offset, frame), then the channel history kept.

local function top_offset(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  return tonumber(string.match(last[1][1], '^(%d+)'))
end

-- Stream entry ids must grow; a script is not rolled back on error, so check
-- every stream before the first write instead of letting an XADD fail midway.
local function check_streams(n)
  local tops = {}
  local function check(key, offset)
    local top = tops[key] or top_offset(key)
    local wanted = tonumber(offset)
    if wanted == nil or wanted <= top then
      return 'stream ' .. key .. ' is at offset ' .. top .. ', cannot add offset ' .. offset
    end
    tops[key] = wanted
    return nil
  end
  local err = check(KEYS[2], ARGV[1])
  for i = 1, n do
    err = err or check(KEYS[2 + i], ARGV[6 + 2 * i])
  end
  return err
end

local function write_batch(n)
  redis.call('XADD', KEYS[2], ARGV[1] .. '-0', 'b', ARGV[3])
  -- Channel history is bounded (the last ARGV, approximately: whole stream nodes);
  -- the state log is kept whole until the session is archived.
  local maxlen = ARGV[#ARGV]
  for i = 1, n do
    redis.call('XADD', KEYS[2 + i], 'MAXLEN', '~', maxlen,
               ARGV[6 + 2 * i] .. '-0', 'f', ARGV[7 + 2 * i])
  end
  redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'epoch', ARGV[2])
  redis.call(ARGV[4], ARGV[5], ARGV[3])
end

local n = tonumber(ARGV[7])
