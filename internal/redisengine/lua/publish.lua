-- ARGV: prefix, channel timeout ms, channel, content, floor (the newest id
-- the calling node has seen). Returns {id, ts, seq} or -2 (no such
-- channel); seq is the change's number in the doorbell stream.
-- The id is above the floor too, so that after a failover to a replica
-- that had not seen the newest ids no id a node has seen is issued again.
-- The doorbell is rung last, in the same atomic step, and carries the whole
-- message, "m" SEQ ":" ID ":" TS ":" LEN(NAME) ":" NAME CONTENT, so that a
-- node applies it to its local copy without reading Redis; a publish that
-- is stored always rings (no gap between two commands).
local timeout, name = tonumber(ARGV[2]), ARGV[3]
local s, nowms, idnow = clock()
if not live(name, nowms, timeout) then return -2 end
local id = math.max(lastid(idnow) + 1, idnow, tonumber(ARGV[5]) + 1)
local fid, fs = f(id), f(s)
redis.call('SET', P .. 'id', fid)
local mk, ck = P .. 'm:' .. name, P .. 'c:' .. name
local msg = fid .. ':' .. fs .. ':' .. ARGV[4]
redis.call('ZADD', mk, fid, msg)
local n, max = redis.call('ZCARD', mk), tonumber(redis.call('HGET', ck, 'm'))
if max and n > max then
  local popped = redis.call('ZPOPMIN', mk, n - max)
  redis.call('HSET', ck, 'd', popped[#popped])
end
if string.sub(name, 1, 1) ~= '$' then redis.call('INCR', P .. 'published') end
-- The stored member is ID:TS:CONTENT; the stream entry puts the name
-- between TS and CONTENT.
local q = ring('m', fid .. ':' .. fs .. ':' .. #name .. ':' .. name .. ARGV[4])
return {id, s, q}
