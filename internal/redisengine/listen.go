package redisengine

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// pingEvery is how long the subscription may stay silent before the
// listener pings it; a ping unanswered for as long again means the
// connection is dead even if TCP has not said so.
const pingEvery = 2 * time.Second

// listen owns the doorbell subscription for the engine's lifetime and
// applies the stream to the local copy (stream.go). While it is up, each
// doorbell wakes the polls held here on that channel. When it drops, the
// copy is forgotten and every held poll is woken (their re-read fails or
// finds what there is); when it is subscribed again, the copy starts again
// from Redis and every held poll is woken once more to re-read, because
// doorbells rung in between were not heard.
func (e *Engine) listen() {
	defer e.done.Done()
	var ps *goredis.PubSub
	defer func() { e.setSub(nil) }()
	up, pinged := false, false
	backoff := 50 * time.Millisecond
	var lastBase time.Time
	for {
		if ps == nil {
			ps = e.rdb.Subscribe(e.ctx, e.bell)
			if !e.setSub(ps) {
				return
			}
		}
		if up && !e.copy.Based() && time.Since(lastBase) > backoff {
			lastBase = time.Now()
			e.rebase() // a base that failed earlier
		}
		msg, err := ps.ReceiveTimeout(e.ctx, pingEvery)
		if e.ctx.Err() != nil {
			return
		}
		if err != nil {
			if up && !pinged && isTimeout(err) {
				pinged = true
				if ps.Ping(e.ctx) == nil {
					continue
				}
			}
			if up {
				up = false
				e.copy.Invalidate()
				e.log.Warn("redis doorbell subscription lost; held polls answered", "err", err)
				e.notifier.NotifyAll(comet.WakeEngineDown)
			}
			e.setSub(nil)
			ps, pinged = nil, false
			select {
			case <-e.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		pinged = false
		e.faults.wait()
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" && !up {
				up, backoff = true, 50*time.Millisecond
				e.log.Info("redis doorbell subscribed; held polls re-read")
				lastBase = time.Now()
				if !e.rebase() {
					e.notifier.NotifyAll(comet.WakeResync)
				}
				e.readyOnce.Do(func() { close(e.ready) })
			}
		case *goredis.Message:
			if !e.faults.skip() {
				e.ring(m.Payload)
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// setSub makes ps the current subscription, closing the previous one; it
// reports false (and closes ps) once the engine is closing, so that Close
// can interrupt a blocked receive by closing the subscription.
func (e *Engine) setSub(ps *goredis.PubSub) bool {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	if e.sub != nil {
		e.sub.Close()
	}
	e.sub = ps
	if e.ctx.Err() != nil && ps != nil {
		ps.Close()
		e.sub = nil
		return false
	}
	return true
}
