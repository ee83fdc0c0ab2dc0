-- ARGV: prefix, channel timeout ms, session timeout ms, has client (1/0),
-- client id, since, floor (the newest id the calling node has seen),
-- full (1/0), channels...
-- Returns {-3} (unknown client), {-2} (no readable channel), or
-- {1, since, last, seq, name, truncated (1/0), {members}, name, ...}: one
-- atomic view at the doorbell stream's number seq that also restarts the
-- inactivity clocks of what it read. With full = 1 (for a node's local
-- copy) each channel has every retained message and three more fields:
-- name, truncated, {members}, use sessions (1/0), max messages, newest
-- dropped id.
local ct, st = tonumber(ARGV[2]), tonumber(ARGV[3])
local hasClient = ARGV[4] == '1'
local full = ARGV[8] == '1'
local _, nowms, idnow = clock()
if hasClient then
  local ck = P .. 'clients'
  if not fresh(redis.call('ZSCORE', ck, ARGV[5]), nowms, st) then return {-3} end
  redis.call('ZADD', ck, nowms, ARGV[5])
end
local last = lastid(idnow)
-- After a failover to a replica that had not seen the newest ids, the
-- counter is raised to what this node has already seen, so that its
-- last_id never goes backwards and no id at or below it is issued again.
local floor = tonumber(ARGV[7])
if floor > last then
  redis.call('SET', P .. 'id', f(floor))
  last = floor
end
local since = tonumber(ARGV[6])
if since > last then since = last end
local out = {1, since, last, seq()}
local from = '(' .. f(since)
if full then from = '-inf' end
for i = 9, #ARGV do
  local name = ARGV[i]
  if live(name, nowms, ct) then
    local meta = redis.call('HMGET', P .. 'c:' .. name, 's', 'd', 'm')
    if meta[1] ~= '1' or hasClient then
      redis.call('ZADD', reg(name), nowms, name)
      local trunc = 0
      if since > 0 and meta[2] and tonumber(meta[2]) > since then trunc = 1 end
      out[#out + 1] = name
      out[#out + 1] = trunc
      out[#out + 1] = redis.call('ZRANGEBYSCORE', P .. 'm:' .. name, from, '+inf')
      if full then
        out[#out + 1] = tonumber(meta[1] or '0')
        out[#out + 1] = tonumber(meta[3] or '0')
        out[#out + 1] = tonumber(meta[2] or '0')
      end
    end
  end
end
if #out == 4 then return {-2} end
return out
