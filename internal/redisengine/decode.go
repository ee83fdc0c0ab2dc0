package redisengine

import (
	"errors"
	"strconv"
	"strings"

	"github.com/simple-comet/simple-comet/internal/comet"
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

// decodeRead decodes read.lua's {1, since, last, name, truncated,
// {members}, ...}.
func decodeRead(arr []any) (comet.ReadResult, error) {
	if len(arr) < 3 || (len(arr)-3)%3 != 0 {
		return comet.ReadResult{}, errBadReply
	}
	since, ok1 := arr[1].(int64)
	last, ok2 := arr[2].(int64)
	if !ok1 || !ok2 {
		return comet.ReadResult{}, errBadReply
	}
	res := comet.ReadResult{Since: since, LastID: last, Channels: make([]comet.ChannelMessages, 0, (len(arr)-3)/3)}
	for i := 3; i < len(arr); i += 3 {
		name, ok1 := arr[i].(string)
		trunc, ok2 := arr[i+1].(int64)
		members, ok3 := stringList(arr[i+2])
		if !ok1 || !ok2 || !ok3 {
			return comet.ReadResult{}, errBadReply
		}
		cm := comet.ChannelMessages{Channel: name}
		if len(members) > 0 {
			cm.Messages = make([]comet.Message, len(members))
			for j, m := range members {
				msg, err := parseMember(m)
				if err != nil {
					return comet.ReadResult{}, err
				}
				cm.Messages[j] = msg
			}
		}
		res.Channels = append(res.Channels, cm)
		if trunc == 1 {
			res.Truncated = append(res.Truncated, name)
		}
	}
	return res, nil
}
