package redisengine

import (
	"context"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// sweepBatch is how many expired channels one sweep script removes per
// registry, so that no script blocks Redis for long.
const sweepBatch = 500

// sweepInterval is a tenth of the shorter timeout, within [10ms, 1s]; 0 when
// nothing expires. Reads judge expiry exactly by themselves; the sweep frees
// the memory and rings the delete doorbells that wake held polls.
func sweepInterval(o Options) time.Duration {
	return comet.SweepInterval(o.ChannelTimeout, o.SessionTimeout)
}

// sweeper runs on every node; the sweeps are idempotent, so whichever node
// gets there first removes an expired channel and rings its doorbell, which
// every node hears.
func (e *Engine) sweeper(every time.Duration) {
	defer e.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.sweep(e.ctx)
		}
	}
}

func (e *Engine) sweep(ctx context.Context) {
	for range 100 { // bounded: a backlog is finished on later ticks
		v, err := e.run(ctx, scriptSweep, ms(e.opts.ChannelTimeout), ms(e.opts.SessionTimeout), sweepBatch)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Debug("redis sweep failed", "err", err)
			}
			return
		}
		if n, _ := v.(int64); n < sweepBatch {
			return
		}
	}
}
