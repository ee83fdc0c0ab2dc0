package comet

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Service is the read-or-hold logic, written once for every engine: answer
// at once when there is something new, otherwise hold the read in the Hub
// until a message, a deletion, the hold timeout, shutdown or an engine fault.
type Service struct {
	Engine Engine
	Hub    *Hub
	// Hold is how long a read is held at most (--http-timeout).
	Hold time.Duration

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// NewService wires an engine and a hub. keepAlive is how often the channels
// and clients of held polls are touched so they do not expire while held
// (0: never); the loop runs until Close.
func NewService(e Engine, h *Hub, hold, keepAlive time.Duration) *Service {
	s := &Service{Engine: e, Hub: h, Hold: hold, stop: make(chan struct{})}
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
// Since, otherwise after holding it. The reason says what ended the hold
// (WakeNone when it was never held). When ctx ends during the hold (the
// client left) it returns WakeGone and ctx's error, and nothing should be
// written. Errors before the hold are the engine's (kinds of this package)
// or ErrCapacity when too many polls are held.
func (s *Service) Read(ctx context.Context, q ReadQuery) (ReadResult, WakeReason, error) {
	h, res, err := s.Begin(ctx, q, nil)
	if h == nil {
		return res, WakeNone, err
	}
	if h.done {
		return h.first, h.reason, nil
	}
	defer s.Hub.Remove(h.Poll)
	timer := time.NewTimer(s.Hold)
	defer timer.Stop()
	var reason WakeReason
	select {
	case <-ctx.Done():
		return ReadResult{}, WakeGone, ctx.Err()
	case <-timer.C:
		reason = WakeTimeout
	case reason = <-h.Poll.Wake():
	}
	res, reason = s.Finish(ctx, h, reason)
	if ctx.Err() != nil {
		return ReadResult{}, WakeGone, ctx.Err()
	}
	return res, reason, nil
}

// Hold is a read in progress: registered in the Hub, waiting for a wake.
type Hold struct {
	Poll   *Poll
	poll   Poll // what Poll points to
	q      ReadQuery
	first  ReadResult // the view taken when the hold began
	done   bool       // answered while beginning (first is the answer)
	reason WakeReason
}

// Begin is the first half of Read, for callers that wait on their own
// terms. It returns (nil, res, err) when the read is answered at once (res
// holds messages) or fails. Otherwise it returns a Hold whose poll is
// registered in the Hub (watch first, then read, so a publish in between is
// not missed): the caller waits for a wake (on Poll.Wake(), or through wake
// when not nil: see NewPollFunc) or its own timeout, then calls Finish, or
// Cancel when the client left. A Hold with done set needs no waiting: its
// answer is ready (Finish returns it).
func (s *Service) Begin(ctx context.Context, q ReadQuery, wake Waker) (*Hold, ReadResult, error) {
	return s.BeginIn(ctx, new(Hold), q, wake)
}

// BeginIn is Begin with the hold in h: storage of the caller's (a field of
// its own value, say), which it may use again for another read once this
// one is finished or cancelled and no wake can reach it any more (the Hub
// lets go of a poll in Cancel and Finish; a Waker's own timers are the
// caller's). The hold returned, if any, is h.
func (s *Service) BeginIn(ctx context.Context, h *Hold, q ReadQuery, wake Waker) (*Hold, ReadResult, error) {
	// The usual case takes one read: watch every channel asked for, then
	// read. When the read has messages, fails, or leaves out a channel
	// (missing, or not readable without a client), the poll is dropped and
	// beginSlow decides.
	initHold(h, q, wake)
	p := h.Poll
	if s.Hub.Add(p) != nil {
		return s.beginSlow(ctx, h, q, wake) // closed or full: read first
	}
	res, err := s.Engine.Read(ctx, q)
	if err != nil || res.HasMessages() {
		s.Hub.Remove(p)
		return nil, res, err
	}
	if len(res.Channels) != len(q.Channels) {
		s.Hub.Remove(p)
		return s.beginSlow(ctx, h, q, wake)
	}
	h.q.Since, h.first = res.Since, res
	return h, res, nil
}

// initHold makes h a new hold for q whose poll, inside it (one allocation
// for both), watches q's channels and wakes through wake, or its Wake
// channel when wake is nil.
func initHold(h *Hold, q ReadQuery, wake Waker) {
	*h = Hold{q: q}
	h.Poll = initPoll(&h.poll, q.Channels, q.ClientID, q.HasClient)
	if wake != nil {
		h.poll.fn = wake
	} else {
		h.poll.wake = make(chan WakeReason, 1)
	}
}

// beginSlow reads first, then watches the channels the read returned and
// reads again (so a publish in between is not missed). h is not in the
// Hub.
func (s *Service) beginSlow(ctx context.Context, h *Hold, q ReadQuery, wake Waker) (*Hold, ReadResult, error) {
	res, err := s.Engine.Read(ctx, q)
	if err != nil || res.HasMessages() {
		return nil, res, err
	}
	q.Channels = readable(q.Channels, res)
	q.Since = res.Since
	initHold(h, q, wake)
	h.first = res
	p := h.Poll
	if err := s.Hub.Add(p); err != nil {
		if errors.Is(err, ErrClosed) {
			h.done, h.reason = true, WakeShutdown
			return h, res, nil
		}
		return nil, ReadResult{}, err
	}
	res2, err := s.Engine.Read(ctx, q)
	switch {
	case err != nil:
		s.Hub.Remove(p)
		h.first, h.done, h.reason = s.emptyView(res), true, WakeEngineDown
	case res2.HasMessages():
		s.Hub.Remove(p)
		h.first, h.done, h.reason = res2, true, WakeNone
	default:
		h.first.LastID = max(h.first.LastID, res2.LastID)
	}
	return h, h.first, nil
}

// Since is the since the hold reads from (after clamping).
func (h *Hold) Since() int64 { return h.q.Since }

// Channels are the channels the hold watches.
func (h *Hold) Channels() []string { return h.q.Channels }

// Client is the reader's client id, if one was given.
func (h *Hold) Client() (string, bool) { return h.q.ClientID, h.q.HasClient }

// Done reports whether the hold was answered while it began: Finish
// returns that answer without waiting.
func (h *Hold) Done() bool { return h.done }

// Cancel forgets a hold whose client left.
func (s *Service) Cancel(h *Hold) { s.Hub.Remove(h.Poll) }

// Finish ends a hold woken for reason: it leaves the Hub and takes the read
// that answers it (an empty view when the engine cannot be read).
func (s *Service) Finish(ctx context.Context, h *Hold, reason WakeReason) (ReadResult, WakeReason) {
	if h.done {
		return h.first, h.reason
	}
	s.Hub.Remove(h.Poll)
	res, err := s.Engine.Read(ctx, h.q)
	if err != nil {
		if errors.Is(err, ErrNoValidChannels) || errors.Is(err, ErrUnknownClient) {
			// Every channel went away (or the client expired meanwhile): the
			// poll is answered with what is left, which is nothing.
			return ReadResult{Since: h.first.Since, LastID: h.first.LastID}, reason
		}
		return s.emptyView(h.first), WakeEngineDown
	}
	return res, reason
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
