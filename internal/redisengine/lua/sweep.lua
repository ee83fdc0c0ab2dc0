-- ARGV: prefix, channel timeout ms, session timeout ms, batch size.
-- Removes up to a batch of expired channels per registry (ringing their
-- delete doorbells) and every expired client; returns how many channels
-- went, so the caller sweeps again while a batch came back full.
local ct, st, batch = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local _, nowms = clock()
local gone = 0
if ct > 0 then
  for _, key in ipairs({P .. 'chans', P .. 'rchans'}) do
    local names = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. f(nowms - ct), 'LIMIT', 0, batch)
    for _, name in ipairs(names) do
      drop(name)
      gone = gone + 1
    end
  end
end
if st > 0 then
  redis.call('ZREMRANGEBYSCORE', P .. 'clients', '-inf', '(' .. f(nowms - st))
end
return gone
