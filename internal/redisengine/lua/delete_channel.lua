-- ARGV: prefix, channel timeout ms, name. Returns 1 when a live channel was
-- removed, 0 otherwise (an expired leftover is removed too, quietly).
local ct, name = tonumber(ARGV[2]), ARGV[3]
local _, nowms = clock()
local sc = redis.call('ZSCORE', reg(name), name)
if not sc then return 0 end
local was = fresh(sc, nowms, ct)
drop(name)
if was then return 1 end
return 0
