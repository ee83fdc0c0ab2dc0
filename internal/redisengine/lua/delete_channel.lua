-- ARGV: prefix, channel timeout ms, name. Returns {1, seq} when a live
-- channel was removed, {0, seq} otherwise (an expired leftover is removed
-- too, quietly); seq is the doorbell stream's number after the call.
local ct, name = tonumber(ARGV[2]), ARGV[3]
local _, nowms = clock()
local sc = redis.call('ZSCORE', reg(name), name)
if not sc then return {0, seq()} end
local was = fresh(sc, nowms, ct)
drop(name)
if was then return {1, seq()} end
return {0, seq()}
