-- ARGV: prefix, session timeout ms, id. Returns 1 when a live client was
-- removed, 0 otherwise.
local st, id = tonumber(ARGV[2]), ARGV[3]
local _, nowms = clock()
local ck = P .. 'clients'
local sc = redis.call('ZSCORE', ck, id)
if not sc then return 0 end
redis.call('ZREM', ck, id)
if fresh(sc, nowms, st) then return 1 end
return 0
