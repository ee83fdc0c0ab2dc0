-- ARGV: prefix, session timeout ms, id. Returns {1, seq} when a live
-- client was removed, {0, seq} otherwise; seq is the doorbell stream's
-- number after the call. A removal rings "client gone" ("x"), so that no
-- node answers for the client from its local copy.
local st, id = tonumber(ARGV[2]), ARGV[3]
local _, nowms = clock()
local ck = P .. 'clients'
local sc = redis.call('ZSCORE', ck, id)
if not sc then return {0, seq()} end
redis.call('ZREM', ck, id)
ring('x', id)
if fresh(sc, nowms, st) then return {1, seq()} end
return {0, seq()}
