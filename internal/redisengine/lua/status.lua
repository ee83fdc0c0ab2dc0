-- ARGV: prefix, channel timeout ms, session timeout ms, list limit.
-- Returns {channels count, {names}, clients count, {ids}, published}.
local ct, st, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local _, nowms = clock()
local function cut(timeout)
  if timeout > 0 then return f(nowms - timeout) end
  return '-inf'
end
local chk, clk = P .. 'chans', P .. 'clients'
return {
  redis.call('ZCOUNT', chk, cut(ct), '+inf'),
  redis.call('ZRANGEBYSCORE', chk, cut(ct), '+inf', 'LIMIT', 0, limit),
  redis.call('ZCOUNT', clk, cut(st), '+inf'),
  redis.call('ZRANGEBYSCORE', clk, cut(st), '+inf', 'LIMIT', 0, limit),
  tonumber(redis.call('GET', P .. 'published') or '0'),
}
