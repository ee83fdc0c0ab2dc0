package redisengine

import (
	"errors"
	"strconv"
	"strings"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/localcopy"
)

var (
	errBadMember = errors.New("redisengine: malformed stored message")
	errBadReply  = errors.New("redisengine: malformed script reply")
)

// parseMember decodes a stored message, "ID:TS:CONTENT" (the member of a
// channel's sorted set, unique because the id is).
func parseMember(s string) (comet.Message, error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return comet.Message{}, errBadMember
	}
	j := strings.IndexByte(s[i+1:], ':')
	if j < 0 {
		return comet.Message{}, errBadMember
	}
	j += i + 1
	id, err1 := strconv.ParseInt(s[:i], 10, 64)
	ts, err2 := strconv.ParseInt(s[i+1:j], 10, 64)
	if err1 != nil || err2 != nil {
		return comet.Message{}, errBadMember
	}
	return comet.Message{ID: id, TS: ts, Content: s[j+1:]}, nil
}

// strings converts an array reply of bulk strings.
func stringList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		if out[i], ok = x.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// readReply is read.lua's answer decoded: the view, and with full = 1 the
// state of each channel for the local copy.
type readReply struct {
	res    comet.ReadResult
	seq    int64
	states []localcopy.ChannelState // with full only, one per res.Channels
}

// decodeRead decodes read.lua's {1, since, last, seq, name, truncated,
// {members}, [use sessions, max messages, dropped,] ...}.
func decodeRead(arr []any, full bool) (readReply, error) {
	stride := 3
	if full {
		stride = 6
	}
	if len(arr) < 4 || (len(arr)-4)%stride != 0 {
		return readReply{}, errBadReply
	}
	since, ok1 := arr[1].(int64)
	last, ok2 := arr[2].(int64)
	seq, ok3 := arr[3].(int64)
	if !ok1 || !ok2 || !ok3 {
		return readReply{}, errBadReply
	}
	n := (len(arr) - 4) / stride
	r := readReply{seq: seq, res: comet.ReadResult{Since: since, LastID: last, Channels: make([]comet.ChannelMessages, 0, n)}}
	if full {
		r.states = make([]localcopy.ChannelState, 0, n)
	}
	for i := 4; i < len(arr); i += stride {
		name, ok1 := arr[i].(string)
		trunc, ok2 := arr[i+1].(int64)
		members, ok3 := stringList(arr[i+2])
		if !ok1 || !ok2 || !ok3 {
			return readReply{}, errBadReply
		}
		msgs, err := parseMembers(members)
		if err != nil {
			return readReply{}, err
		}
		if full {
			sess, ok1 := arr[i+3].(int64)
			maxm, ok2 := arr[i+4].(int64)
			dropped, ok3 := arr[i+5].(int64)
			if !ok1 || !ok2 || !ok3 {
				return readReply{}, errBadReply
			}
			r.states = append(r.states, localcopy.ChannelState{Name: name, UseSessions: sess == 1, MaxMessages: int(maxm), Dropped: dropped, Messages: msgs})
			msgs = after(msgs, since)
		}
		r.res.Channels = append(r.res.Channels, comet.ChannelMessages{Channel: name, Messages: msgs})
		if trunc == 1 {
			r.res.Truncated = append(r.res.Truncated, name)
		}
	}
	return r, nil
}

// parseMembers decodes a channel's stored messages (nil for none).
func parseMembers(members []string) ([]comet.Message, error) {
	if len(members) == 0 {
		return nil, nil
	}
	msgs := make([]comet.Message, len(members))
	for j, m := range members {
		msg, err := parseMember(m)
		if err != nil {
			return nil, err
		}
		msgs[j] = msg
	}
	return msgs, nil
}

// after is the messages with id > since (shared, capped so that no
// append reaches the local copy's array).
func after(msgs []comet.Message, since int64) []comet.Message {
	for i, m := range msgs {
		if m.ID > since {
			return msgs[i:len(msgs):len(msgs)]
		}
	}
	return nil
}
