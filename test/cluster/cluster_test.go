// Package cluster tests several simple_comet nodes sharing one real
// redis-server: messages published on any node reach subscribers on every
// node exactly once and in order, and a Redis crash loses no acknowledged
// message and brings no node down. With a primary, two replicas and three
// Sentinels (redis+sentinel:// and --redis-wait-replicas=1), the loss of
// the primary loses no acknowledged message either. A heavy package: run
// with -p 1.
package cluster

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// publisher publishes count messages (or until stop) on node, round robin
// over channels, and records each outcome.
type publisher struct {
	name     string
	node     *server.Server
	channels []string

	mu     sync.Mutex
	acked  []sent
	failed []string // content of publishes answered -5: outcome unknown
	errs   []string
}

func (p *publisher) run(count int, stop <-chan struct{}, pause time.Duration) {
	for i := 0; count <= 0 || i < count; i++ {
		select {
		case <-stop:
			return
		default:
		}
		ch := p.channels[i%len(p.channels)]
		content := fmt.Sprintf("%s-%d", p.name, i)
		r, err := call("POST", publishURL(p.node, ch), url.Values{"content": {content}})
		p.mu.Lock()
		switch {
		case err != nil:
			p.errs = append(p.errs, err.Error())
		case r.ReturnCode == 1 && r.MessageID > 0:
			p.acked = append(p.acked, sent{channel: ch, content: content, id: r.MessageID})
		case r.ReturnCode == -5 && r.status == http.StatusServiceUnavailable && r.retryAfter != "":
			p.failed = append(p.failed, content)
		default:
			p.errs = append(p.errs, fmt.Sprintf("publish: got status %d return_code %d Retry-After %q, want 1, or -5 with 503 and Retry-After", r.status, r.ReturnCode, r.retryAfter))
		}
		p.mu.Unlock()
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

// results merges every publisher's outcomes and checks that no id was
// issued twice.
func results(t *testing.T, pubs []*publisher) (acked []sent, maybe map[string]bool) {
	t.Helper()
	maybe = map[string]bool{}
	ids := map[int64]string{}
	for _, p := range pubs {
		for _, e := range p.errs {
			t.Errorf("%s: %s", p.name, e)
		}
		for _, m := range p.acked {
			if other, dup := ids[m.id]; dup {
				t.Errorf("got id %d for %s and %s, want every id issued once", m.id, other, m.content)
			}
			ids[m.id] = m.content
			acked = append(acked, m)
		}
		for _, c := range p.failed {
			maybe[c] = true
		}
	}
	return acked, maybe
}

// startSubscribers polls until stop; the node of subscriber i is i mod n,
// and subscriber 0 moves to the next node after moveAfter messages.
func startSubscribers(subs []*subscriber, nodes []*server.Server, moveAfter int, stop <-chan struct{}, wg *sync.WaitGroup, moved *atomic.Bool) {
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := i % len(nodes)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i == 0 && !moved.Load() && s.count() >= moveAfter {
					n = (n + 1) % len(nodes)
					moved.Store(true)
				}
				if !s.poll(nodes[n]) {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
}

// current is the newest id, read through node: subscribers start from it.
func current(t *testing.T, node *server.Server, channels []string) int64 {
	t.Helper()
	r, err := call("GET", readURL(node, channels, 0), nil)
	if err != nil || r.ReturnCode != 1 {
		t.Fatalf("got %+v, %v, want a read", r, err)
	}
	return r.LastID
}

// drain waits (bounded) until every subscriber holds every acknowledged
// message of its channels. (Counting is not enough: a subscriber may also
// hold publishes answered -5, so its count can reach the number acked
// while an acknowledged one is still on its way.)
func drain(t *testing.T, subs []*subscriber, acked []sent, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, s := range subs {
		for !s.hasAll(acked) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// hasAll reports whether s received every message of acked on its channels.
func (s *subscriber) hasAll(acked []sent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range acked {
		if !slices.Contains(s.channels, m.channel) {
			continue
		}
		if _, ok := s.got[m.id]; !ok {
			return false
		}
	}
	return true
}

func TestThreeNodesActAsOne(t *testing.T) {
	_, nodes := startCluster(t, 3)
	chans := []string{"a", "b", "c", "d", "e", "f"}
	for i, c := range chans {
		register(t, nodes[i%3], c)
	}
	// Six subscribers, two per node, each reading three channels at once.
	var subs []*subscriber
	since := current(t, nodes[0], chans)
	for i := range 6 {
		set := []string{chans[i%6], chans[(i+1)%6], chans[(i+3)%6]}
		subs = append(subs, newSubscriber(fmt.Sprintf("sub%d", i), set, since))
	}
	stop := make(chan struct{})
	var subWG sync.WaitGroup
	var moved atomic.Bool
	startSubscribers(subs, nodes, 150, stop, &subWG, &moved)
	defer func() { close(stop); subWG.Wait() }()

	// Three publishers per node, 1,200 messages each on this node's share.
	const perPublisher = 400
	var pubs []*publisher
	var pubWG sync.WaitGroup
	for i := range 9 {
		p := &publisher{name: fmt.Sprintf("pub%d", i), node: nodes[i%3], channels: chans[i%3:]}
		pubs = append(pubs, p)
		pubWG.Add(1)
		go func() { defer pubWG.Done(); p.run(perPublisher, nil, 0) }()
	}
	pubWG.Wait()
	acked, maybe := results(t, pubs)
	if len(acked) != 9*perPublisher || len(maybe) != 0 {
		t.Fatalf("got %d acknowledged and %d failed publishes, want %d and 0", len(acked), len(maybe), 9*perPublisher)
	}
	drain(t, subs, acked, 60*time.Second)
	if !moved.Load() {
		t.Error("got subscriber 0 still on its first node, want it to have switched mid-stream")
	}
	for _, s := range subs {
		s.check(t, acked, maybe)
		for _, e := range s.errs {
			t.Errorf("%s: %s", s.name, e)
		}
	}
	for i, n := range nodes {
		select {
		case <-n.Exited():
			t.Errorf("node %d exited, want it running\n%s", i, n.Log())
		default:
		}
	}
}
