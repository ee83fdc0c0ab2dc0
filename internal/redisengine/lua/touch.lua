-- ARGV: prefix, channel timeout ms, session timeout ms, number of channels,
-- channels..., clients... Restarts the clocks of those still alive.
local ct, st, n = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local _, nowms = clock()
for i = 5, 4 + n do
  local name = ARGV[i]
  if live(name, nowms, ct) then redis.call('ZADD', reg(name), nowms, name) end
end
local ck = P .. 'clients'
for i = 5 + n, #ARGV do
  if fresh(redis.call('ZSCORE', ck, ARGV[i]), nowms, st) then redis.call('ZADD', ck, nowms, ARGV[i]) end
end
return 1
