package memengine

import (
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// sweepInterval is a tenth of the shorter timeout, within [10ms, 1s]; 0 when
// nothing expires.
func sweepInterval(o Options) time.Duration {
	return comet.SweepInterval(o.ChannelTimeout, o.SessionTimeout)
}

func (e *Engine) sweeper(every time.Duration) {
	defer e.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.sweep()
		}
	}
}

// sweep removes expired channels and clients and wakes the polls held on
// the channels removed.
func (e *Engine) sweep() {
	now := time.Now().UnixNano()
	var gone []string
	e.mu.Lock()
	for name, c := range e.channels {
		if e.channelExpired(c, now) {
			e.removeChannelLocked(name)
			gone = append(gone, name)
		}
	}
	for id, c := range e.clients {
		if e.clientExpired(c, now) {
			delete(e.clients, id)
		}
	}
	e.mu.Unlock()
	for _, name := range gone {
		e.notifier.Notify(name, comet.WakeDeleted)
	}
}
