-- ARGV: prefix, session timeout ms, max clients (0: none), id.
-- Returns 1, -2 (exists) or -5 (full).
local st, maxc, id = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local _, nowms = clock()
local ck = P .. 'clients'
local sc = redis.call('ZSCORE', ck, id)
if sc then
  if fresh(sc, nowms, st) then return -2 end
elseif maxc > 0 and redis.call('ZCARD', ck) >= maxc then
  return -5
end
redis.call('ZADD', ck, nowms, id)
return 1
