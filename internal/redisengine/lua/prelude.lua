-- Shared by every script (prepended). Keys are built from the prefix in
-- ARGV[1]; Redis Cluster is not supported (one Redis, or a replicated one
-- behind Sentinel). Times come from Redis's TIME so that every node shares
-- one clock for ids and expiry.
local P = ARGV[1]
local function f(n) return string.format('%.0f', n) end
-- clock: Unix seconds, milliseconds, and the id clock (10 us units).
local function clock()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return s, s * 1000 + math.floor(us / 1000), s * 100000 + math.floor(us / 10)
end
-- reg: the registry of a channel; reserved ($) names have their own, so
-- that ZCARD of the user registry is the exact count status reports.
local function reg(name)
  if string.sub(name, 1, 1) == '$' then return P .. 'rchans' end
  return P .. 'chans'
end
-- fresh: a registry score (last activity, ms) that has not expired.
local function fresh(sc, nowms, timeout)
  return sc and (timeout <= 0 or tonumber(sc) >= nowms - timeout)
end
local function live(name, nowms, timeout)
  return fresh(redis.call('ZSCORE', reg(name), name), nowms, timeout)
end
-- lastid: the newest id issued; the first use seeds the counter from TIME.
local function lastid(idnow)
  local v = redis.call('GET', P .. 'id')
  if v then return tonumber(v) end
  redis.call('SET', P .. 'id', f(idnow))
  return idnow
end
-- ring numbers a change (the stream's sequence number, in the same atomic
-- step as the change) and publishes it on the doorbell: KIND SEQ ':' BODY.
-- Every node applies the stream to its local copy in this order and can
-- tell a gap. Returns the sequence number.
local function ring(kind, body)
  local q = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'bell', kind .. f(q) .. ':' .. body)
  return q
end
-- seq: the stream's current sequence number.
local function seq()
  return tonumber(redis.call('GET', P .. 'seq') or '0')
end
-- drop removes a channel with its messages and rings "channel gone".
local function drop(name)
  redis.call('ZREM', reg(name), name)
  redis.call('DEL', P .. 'c:' .. name, P .. 'm:' .. name)
  ring('d', name)
end
