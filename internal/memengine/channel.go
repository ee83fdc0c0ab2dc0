package memengine

import (
	"sort"
	"sync/atomic"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// channel keeps its newest max messages in a ring, oldest first.
type channel struct {
	useSessions bool
	max         int
	ring        []comet.Message // grows to max, then wraps
	start       int             // index of the oldest message once full
	droppedMax  int64           // id of the newest message dropped by retention
	lastRead    atomic.Int64    // UnixNano of registration or last read
}

func newChannel(o comet.ChannelOptions) *channel {
	return &channel{useSessions: o.UseSessions, max: o.MaxMessages}
}

func (c *channel) at(i int) *comet.Message {
	return &c.ring[(c.start+i)%len(c.ring)]
}

func (c *channel) append(m comet.Message) {
	if len(c.ring) < c.max {
		c.ring = append(c.ring, m)
		return
	}
	c.droppedMax = c.ring[c.start].ID
	c.ring[c.start] = m
	c.start = (c.start + 1) % len(c.ring)
}

// since copies out the messages with id > since, oldest first (nil if none).
func (c *channel) since(since int64) []comet.Message {
	n := len(c.ring)
	i := sort.Search(n, func(i int) bool { return c.at(i).ID > since })
	if i == n {
		return nil
	}
	out := make([]comet.Message, 0, n-i)
	for ; i < n; i++ {
		out = append(out, *c.at(i))
	}
	return out
}
