package redisengine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/localcopy"
)

// The doorbell is the ordered stream of changes that keeps every node's
// local copy exact (internal/localcopy). Each payload is KIND SEQ ":" BODY,
// SEQ numbering the change in the same script as the change:
//
//	m SEQ:ID:TS:LEN(NAME):NAME CONTENT   a message stored (the whole message)
//	d SEQ:NAME                           a channel deleted or expired
//	x SEQ:ID                             a client deleted

// touchEvery is how often the channels and clients read from the local
// copy are touched in Redis: a read answered locally restarts their
// inactivity clocks cluster-wide at most this much later.
const touchEvery = 200 * time.Millisecond

// evictAfter is how long the local copy keeps a channel or client no read
// here has used.
const evictAfter = 2 * time.Minute

var errBadEvent = errors.New("redisengine: malformed doorbell")

// parseEvent decodes one doorbell payload.
func parseEvent(p string) (localcopy.Event, error) {
	var ev localcopy.Event
	if len(p) < 2 {
		return ev, errBadEvent
	}
	kind, rest := p[0], p[1:]
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return ev, errBadEvent
	}
	seq, err := strconv.ParseInt(rest[:i], 10, 64)
	if err != nil {
		return ev, errBadEvent
	}
	ev.Seq, rest = seq, rest[i+1:]
	switch kind {
	case 'd':
		ev.Kind, ev.Name = localcopy.ChannelGone, rest
	case 'x':
		ev.Kind, ev.Name = localcopy.ClientGone, rest
	case 'm':
		var f [3]int64
		for k := range f {
			j := strings.IndexByte(rest, ':')
			if j < 0 {
				return ev, errBadEvent
			}
			if f[k], err = strconv.ParseInt(rest[:j], 10, 64); err != nil {
				return ev, errBadEvent
			}
			rest = rest[j+1:]
		}
		if f[2] < 1 || f[2] > int64(len(rest)) {
			return ev, errBadEvent
		}
		ev.Kind, ev.Name = localcopy.Message, rest[:f[2]]
		ev.Message = comet.Message{ID: f[0], TS: f[1], Content: rest[f[2]:]}
	default:
		return ev, errBadEvent
	}
	if ev.Name == "" {
		return ev, errBadEvent
	}
	return ev, nil
}

// ring handles one doorbell: it applies the change to the local copy, then
// wakes the polls held here on its channel, which re-read (from the copy).
// A change that does not follow the last one (a lost doorbell, a failover)
// or cannot be read makes the copy start again from Redis, and every held
// poll re-read, since its wake-up may have been lost.
func (e *Engine) ring(payload string) {
	ev, err := parseEvent(payload)
	if err != nil {
		e.log.Warn("redis doorbell not understood; local copy reloaded", "err", err)
		e.copy.Invalidate()
		e.rebase()
		return
	}
	if e.observe(ev.Message.ID); !e.copy.Apply(ev) {
		e.rebase()
	}
	switch ev.Kind {
	case localcopy.Message:
		e.notifier.Notify(ev.Name, comet.WakeMessage)
	case localcopy.ChannelGone:
		e.notifier.Notify(ev.Name, comet.WakeDeleted)
	}
}

// rebase makes the local copy follow the stream from Redis's current
// sequence number, and wakes every held poll to re-read. Called by the
// listener only, so that the stream is applied in order. When Redis
// cannot be read, the copy stays empty (every read goes to Redis) and the
// listener tries again.
func (e *Engine) rebase() bool {
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.OpTimeout)
	defer cancel()
	v, err := e.run(ctx, scriptBase)
	arr, ok := v.([]any)
	if err != nil || !ok || len(arr) != 2 {
		if err == nil {
			err = unexpected(scriptBase, v)
		}
		e.log.Debug("redis local copy not based", "err", err)
		return false
	}
	seq, ok1 := arr[0].(int64)
	last, ok2 := arr[1].(int64)
	if !ok1 || !ok2 {
		return false
	}
	e.observe(last)
	e.copy.Rebase(seq, last)
	e.notifier.NotifyAll(comet.WakeResync)
	return true
}

// toucher sends the touches of reads answered from the local copy, in
// batches, and evicts what no read here uses any more.
func (e *Engine) toucher() {
	defer e.done.Done()
	t := time.NewTicker(touchEvery)
	defer t.Stop()
	lastEvict := time.Now()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		if chs, cls, at := e.copy.TakeTouches(); len(chs) > 0 || len(cls) > 0 {
			ctx, cancel := context.WithTimeout(e.ctx, e.opts.OpTimeout)
			// On failure the copy's clocks simply do not advance: it stops
			// answering for these names before Redis could expire them.
			if e.touch(ctx, chs, cls) == nil {
				e.copy.Confirm(chs, cls, at)
			}
			cancel()
		}
		if time.Since(lastEvict) > evictAfter/4 {
			e.copy.Evict(evictAfter)
			lastEvict = time.Now()
		}
	}
}
