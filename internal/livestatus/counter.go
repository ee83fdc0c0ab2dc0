package livestatus

import (
	"sync/atomic"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Counter counts this node's publishes and delivered messages. It
// implements httpapi.Observer.
type Counter struct {
	published atomic.Uint64
	delivered atomic.Uint64
}

// Request implements httpapi.Observer; requests are not counted here.
func (*Counter) Request(string, int, time.Duration) {}

// Published implements httpapi.Observer.
func (c *Counter) Published() { c.published.Add(1) }

// Answered implements httpapi.Observer.
func (c *Counter) Answered(reason comet.WakeReason, messages int) {
	if reason != comet.WakeGone && messages > 0 {
		c.delivered.Add(uint64(messages))
	}
}

// Totals returns the counts so far.
func (c *Counter) Totals() (published, delivered uint64) {
	return c.published.Load(), c.delivered.Load()
}
