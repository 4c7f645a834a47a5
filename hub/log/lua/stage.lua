-- A rewrite (EventLog.rewrite) stages the new history in keys of the session's slot, then
-- swaps them in with one script (swap.lua): readers see the old history or the new one,
-- never a mix. KEYS: one staged stream. ARGV: the field name, MAXLEN (0: none), seconds
-- the staged key lives (a writer that dies mid-way leaves nothing for long), then pairs
-- (offset, value).
local maxlen = tonumber(ARGV[2])
for i = 4, #ARGV, 2 do
  if maxlen > 0 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, ARGV[i] .. '-0', ARGV[1], ARGV[i + 1])
  else
    redis.call('XADD', KEYS[1], ARGV[i] .. '-0', ARGV[1], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
