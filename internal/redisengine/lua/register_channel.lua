-- ARGV: prefix, channel timeout ms, max channels (0: none), name,
-- use sessions (1/0), max messages. Returns 1, -2 (exists) or -5 (full).
local ct, maxc, name = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local _, nowms = clock()
local sc = redis.call('ZSCORE', reg(name), name)
if sc then
  if fresh(sc, nowms, ct) then return -2 end
  drop(name) -- expired but not swept yet: its held polls wake, then it is new
elseif string.sub(name, 1, 1) ~= '$' and maxc > 0 and redis.call('ZCARD', P .. 'chans') >= maxc then
  return -5
end
redis.call('DEL', P .. 'm:' .. name)
redis.call('HSET', P .. 'c:' .. name, 's', ARGV[5], 'm', ARGV[6])
redis.call('ZADD', reg(name), nowms, name)
return 1
