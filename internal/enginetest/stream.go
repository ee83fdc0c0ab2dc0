package enginetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// StreamFaults is an engine whose nodes each keep a local copy of the
// shared store, fed by an ordered stream of its changes (the Redis
// engine). The Stream cases open two nodes on one storage and drill the
// faults of that stream; engines without one skip them.
type StreamFaults interface {
	comet.Engine
	// SkipStream makes the node lose the next n changes of its stream
	// unheard, while its connection stays up.
	SkipStream(n int)
	// ReconnectStream drops the node's stream connection; the node
	// connects again by itself.
	ReconnectStream()
	// PauseStream stops the node taking changes from its stream until
	// resume is called; meanwhile they queue.
	PauseStream() (resume func())
}

// stream runs the local-copy cases: whatever the stream does, a node's
// reads stay exact (never a message twice, never one lost, never a view
// older than the node's own writes or than a since it was given).
func (s *suite) stream(t *testing.T) {
	t.Run("MissedChanges", s.streamMissed)
	t.Run("Reconnected", s.streamReconnected)
	t.Run("Lagging", s.streamLagging)
	t.Run("TwoNodesExact", s.streamExact)
}

// nodes opens two nodes on one storage, or skips.
func (s *suite) nodes(t *testing.T) (a comet.Engine, b StreamFaults, recB *Recorder) {
	t.Helper()
	a, _ = s.start(t, Options{})
	e, rec := s.start(t, Options{})
	f, ok := e.(StreamFaults)
	if !ok {
		t.Skip("the engine keeps no local copy fed by a stream")
	}
	return a, f, rec
}

// wantContents checks a channel's messages in a read.
func wantContents(t *testing.T, res comet.ReadResult, channel string, want ...string) {
	t.Helper()
	wantStrings(t, "messages of "+channel, contents(messagesOf(res, channel)), want)
}

func (s *suite) streamMissed(t *testing.T) {
	a, b, rec := s.nodes(t)
	register(t, a, "c", comet.ChannelOptions{})
	publish(t, a, "c", "0")
	wantContents(t, read(t, b, q(0, "c")), "c", "0") // b now holds c
	rec.WaitCount(t, "c", comet.WakeMessage, 1, notifyWait)
	resyncs := rec.Count("", comet.WakeResync)
	b.SkipStream(1)
	publish(t, a, "c", "1") // b never hears of it
	publish(t, a, "c", "2") // b hears a change that does not follow
	// b must notice the gap, wake every poll it holds, and read what it lost.
	rec.WaitCount(t, "", comet.WakeResync, resyncs+1, notifyWait)
	wantContents(t, read(t, b, q(0, "c")), "c", "0", "1", "2")
	m3 := publish(t, a, "c", "3")
	rec.WaitCount(t, "c", comet.WakeMessage, 2, notifyWait)
	res := read(t, b, q(m3.ID-1, "c"))
	wantContents(t, res, "c", "3")
	wantContents(t, read(t, b, q(0, "c")), "c", "0", "1", "2", "3")
}

func (s *suite) streamReconnected(t *testing.T) {
	a, b, rec := s.nodes(t)
	register(t, a, "c", comet.ChannelOptions{})
	register(t, a, "gone", comet.ChannelOptions{})
	read(t, b, q(0, "c", "gone"))
	resyncs := rec.Count("", comet.WakeResync)
	resume := b.PauseStream()
	publish(t, a, "c", "1")
	publish(t, a, "c", "2")
	if _, err := a.DeleteChannel(ctx(t), "gone"); err != nil {
		t.Fatalf("DeleteChannel: %v", err)
	}
	b.ReconnectStream() // what was queued on the old connection is lost
	resume()
	rec.WaitCount(t, "", comet.WakeResync, resyncs+1, notifyWait)
	res := read(t, b, q(0, "c", "gone"))
	wantStrings(t, "channels", channelNames(res), []string{"c"})
	wantContents(t, res, "c", "1", "2")
	n := rec.Count("c", comet.WakeMessage)
	m3 := publish(t, a, "c", "3")
	rec.WaitCount(t, "c", comet.WakeMessage, n+1, notifyWait)
	wantContents(t, read(t, b, q(m3.ID-1, "c")), "c", "3")
}

func (s *suite) streamLagging(t *testing.T) {
	a, b, rec := s.nodes(t)
	register(t, a, "c", comet.ChannelOptions{})
	register(t, a, "d", comet.ChannelOptions{})
	read(t, b, q(0, "c", "d"))
	resume := b.PauseStream()
	defer resume()
	m1 := publish(t, a, "c", "1")
	// A client that got m1 from a and asks b with since = m1's id: b must
	// neither give m1 again nor take last_id back below it.
	res := read(t, b, q(m1.ID, "c"))
	wantContents(t, res, "c")
	if res.Since != m1.ID || res.LastID < m1.ID {
		t.Fatalf("lagging node: got since %d, last_id %d; want since %d and last_id >= it", res.Since, res.LastID, m1.ID)
	}
	// b's own writes are seen by b's next read, lagging or not.
	publish(t, b, "c", "2")
	wantContents(t, read(t, b, q(0, "c")), "c", "1", "2")
	if _, err := b.DeleteChannel(ctx(t), "d"); err != nil {
		t.Fatalf("DeleteChannel: %v", err)
	}
	readErr(t, b, q(0, "d"), comet.ErrNoValidChannels)
	resume()
	rec.WaitCount(t, "c", comet.WakeMessage, 2, notifyWait)
	rec.WaitCount(t, "d", comet.WakeDeleted, 1, notifyWait)
	wantContents(t, read(t, b, q(0, "c", "d")), "c", "1", "2")
	m3 := publish(t, a, "c", "3")
	rec.WaitCount(t, "c", comet.WakeMessage, 3, notifyWait)
	wantContents(t, read(t, b, q(m3.ID-1, "c")), "c", "3")
}

// streamExact has both nodes publish to three channels while a reader on
// each follows all three with its since, as a client does: every reader
// must see every message exactly once and in id order, whichever node
// published it and whatever its node had applied.
func (s *suite) streamExact(t *testing.T) {
	a, b, _ := s.nodes(t)
	chans := []string{"x", "y", "z"}
	for _, c := range chans {
		register(t, a, c, comet.ChannelOptions{MaxMessages: 1000})
	}
	const perNode = 150
	var wg sync.WaitGroup
	for _, e := range []comet.Engine{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perNode {
				if _, err := e.Publish(ctx(t), chans[i%3], fmt.Sprint(i)); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	seen := make([]map[int64]bool, 2)
	for i, e := range []comet.Engine{a, b} {
		seen[i] = map[int64]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var since, last int64
			deadline := time.Now().Add(20 * time.Second)
			for len(seen[i]) < 2*perNode && time.Now().Before(deadline) {
				res, err := e.Read(ctx(t), q(since, chans...))
				if err != nil {
					t.Errorf("Read: %v", err)
					return
				}
				if res.LastID < last {
					t.Errorf("node %d: last_id went back from %d to %d", i, last, res.LastID)
					return
				}
				last = res.LastID
				if !res.HasMessages() {
					time.Sleep(time.Millisecond)
				}
				for _, c := range res.Channels {
					for _, m := range c.Messages {
						if seen[i][m.ID] {
							t.Errorf("node %d: message %d delivered twice", i, m.ID)
							return
						}
						seen[i][m.ID] = true
					}
				}
				since = res.LastID
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := read(t, a, q(0, chans...))
	total := 0
	for _, c := range all.Channels {
		total += len(c.Messages)
		for _, m := range c.Messages {
			for i := range seen {
				if !seen[i][m.ID] {
					t.Fatalf("node %d's reader never got message %d of %q", i, m.ID, c.Channel)
				}
			}
		}
	}
	if total != 2*perNode {
		t.Fatalf("stored %d messages, want %d", total, 2*perNode)
	}
}
