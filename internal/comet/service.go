package comet

import (
	"context"
	"sync"
	"time"
)

// Service is the read-or-hold logic, written once for every engine and
// every transport: answer at once when there is something new, otherwise
// hold the read (a Hold) in the Hub until a message, a deletion, the hold
// timeout (one Expiry for every hold), shutdown or an engine fault.
type Service struct {
	Engine Engine
	Hub    *Hub
	// HoldTimeout is how long a read is held at most (--http-timeout),
	// give or take HoldSlack; set by NewService.
	HoldTimeout time.Duration

	expiry *Expiry // times out every hold
	stop   chan struct{}
	done   sync.WaitGroup
	once   sync.Once
}

// NewService wires an engine and a hub. keepAlive is how often the channels
// and clients of held polls are touched so they do not expire while held
// (0: never); the loop runs until Close.
func NewService(e Engine, h *Hub, hold, keepAlive time.Duration) *Service {
	s := &Service{Engine: e, Hub: h, HoldTimeout: hold, expiry: NewExpiry(hold, HoldSlack(hold)), stop: make(chan struct{})}
	if keepAlive > 0 {
		s.done.Add(1)
		go s.keepAlive(keepAlive)
	}
	return s
}

// KeepAliveInterval picks the touch period for the given expiry timeouts: a
// quarter of the shorter one, within [10ms, 10s]; 0 when neither expires.
func KeepAliveInterval(channelTimeout, sessionTimeout time.Duration) time.Duration {
	d := ShorterTimeout(channelTimeout, sessionTimeout)
	if d == 0 {
		return 0
	}
	return min(max(d/4, 10*time.Millisecond), 10*time.Second)
}

// SweepInterval is how often an engine looks for expired channels and
// clients: a tenth of the shorter timeout, within [10ms, 1s]; 0 when
// nothing expires.
func SweepInterval(channelTimeout, sessionTimeout time.Duration) time.Duration {
	d := ShorterTimeout(channelTimeout, sessionTimeout)
	if d == 0 {
		return 0
	}
	return min(max(d/10, 10*time.Millisecond), time.Second)
}

// ShorterTimeout is the shorter of two timeouts, 0 meaning never; 0 when
// both are 0.
func ShorterTimeout(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0 || a < b:
		return a
	}
	return b
}

func (s *Service) keepAlive(every time.Duration) {
	defer s.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			chs, cls := s.Hub.Active()
			if len(chs) == 0 && len(cls) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), every)
			_ = s.Engine.Touch(ctx, chs, cls) // an engine fault wakes polls on its own
			cancel()
		}
	}
}

// Close stops the keep-alive loop and waits for it. It neither shuts the hub
// down nor closes the engine: cmd does that, in order. Safe to call twice.
func (s *Service) Close() {
	s.once.Do(func() { close(s.stop) })
	s.done.Wait()
}

// Read answers q: at once when a readable channel has a message newer than
// Since, otherwise after holding it (Begin, then waiting on this
// goroutine). The reason says what ended the hold (WakeNone when it was
// never held). When ctx ends during the hold (the client left) it returns
// WakeGone and ctx's error, and nothing should be written. Errors before
// the hold are the engine's (kinds of this package) or ErrCapacity when
// too many polls are held.
func (s *Service) Read(ctx context.Context, q ReadQuery) (ReadResult, WakeReason, error) {
	h := new(Hold)
	woken := make(chanWaker, 1)
	switch out, err := s.Begin(ctx, h, q, woken); out {
	case Failed:
		return ReadResult{}, WakeNone, err
	case Waiting:
		if !h.Await() {
			select {
			case <-ctx.Done():
				s.Cancel(h)
				return ReadResult{}, WakeGone, ctx.Err()
			case <-woken:
			}
		}
	}
	res, reason := s.Finish(ctx, h)
	if ctx.Err() != nil {
		return ReadResult{}, WakeGone, ctx.Err()
	}
	return res, reason, nil
}

// chanWaker wakes a goroutine that waits on it.
type chanWaker chan WakeReason

func (c chanWaker) Wake(r WakeReason) {
	select {
	case c <- r:
	default: // told already
	}
}

// readable lists the channels a read returned: the ones the hold watches.
// When every channel asked for was returned (the usual case) it reuses the
// query's list instead of allocating one per held poll.
func readable(asked []string, r ReadResult) []string {
	if len(asked) == len(r.Channels) {
		same := true
		for i := range asked {
			if asked[i] != r.Channels[i].Channel {
				same = false
				break
			}
		}
		if same {
			return asked
		}
	}
	out := make([]string, len(r.Channels))
	for i, c := range r.Channels {
		out[i] = c.Channel
	}
	return out
}

// emptyView is the answer when the engine cannot be read during a hold: no
// messages and last_id = since, so the client's next read loses nothing.
func (s *Service) emptyView(r ReadResult) ReadResult {
	out := ReadResult{Since: r.Since, LastID: r.Since, Channels: make([]ChannelMessages, len(r.Channels))}
	for i, c := range r.Channels {
		out.Channels[i] = ChannelMessages{Channel: c.Channel}
	}
	return out
}
