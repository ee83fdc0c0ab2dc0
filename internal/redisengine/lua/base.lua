-- ARGV: prefix. Returns {seq, last}: the doorbell stream's sequence number
-- and the newest id, in one atomic step, from which a node's local copy
-- follows the stream.
local _, _, idnow = clock()
return {seq(), lastid(idnow)}
