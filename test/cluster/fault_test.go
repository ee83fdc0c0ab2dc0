package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// health is the status of node's /health, or 0 when it does not answer.
func health(node *server.Server) int {
	r, err := api.Try(context.Background(), httpc, node.URL, http.MethodGet, "/health", "", nil)
	if err != nil {
		return 0
	}
	return r.Status
}

// waitHealth waits (bounded) until every node's /health answers status.
func waitHealth(t *testing.T, nodes []*server.Server, status int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for i, n := range nodes {
		got := health(n)
		for got != status && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			got = health(n)
		}
		if got != status {
			t.Fatalf("node %d: got /health %d, want %d", i, got, status)
		}
	}
}

func ackedCount(pubs []*publisher) int {
	n := 0
	for _, p := range pubs {
		p.mu.Lock()
		n += len(p.acked)
		p.mu.Unlock()
	}
	return n
}

func waitAcked(t *testing.T, pubs []*publisher, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for ackedCount(pubs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d acknowledged publishes, want %d within %v", ackedCount(pubs), n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisKilledMidTraffic(t *testing.T) {
	r, nodes := startCluster(t, 3)
	chans := []string{"x", "y", "z"}
	for i, c := range chans {
		register(t, nodes[i], c)
	}
	since := current(t, nodes[0], chans)
	var subs []*subscriber
	for i := range 3 {
		subs = append(subs, newSubscriber(fmt.Sprintf("sub%d", i), []string{chans[i], chans[(i+1)%3]}, since))
	}
	stopSubs := make(chan struct{})
	var subWG sync.WaitGroup
	var moved atomic.Bool
	startSubscribers(subs, nodes, 1<<30, stopSubs, &subWG, &moved)
	defer func() { close(stopSubs); subWG.Wait() }()

	stopPubs := make(chan struct{})
	var pubs []*publisher
	var pubWG sync.WaitGroup
	for i := range 3 {
		p := &publisher{name: fmt.Sprintf("pub%d", i), node: nodes[i], channels: chans}
		pubs = append(pubs, p)
		pubWG.Add(1)
		go func() { defer pubWG.Done(); p.run(0, stopPubs, 2*time.Millisecond) }()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopPubs)
			pubWG.Wait()
		}
	}
	defer stop()

	waitAcked(t, pubs, 300, 60*time.Second)
	r.Kill()
	before := ackedCount(pubs)
	waitHealth(t, nodes, http.StatusServiceUnavailable, 15*time.Second)
	time.Sleep(time.Second) // publishers and readers meet the outage
	r.Restart()
	waitHealth(t, nodes, http.StatusOK, 30*time.Second)
	waitAcked(t, pubs, before+300, 60*time.Second) // traffic resumed, same nodes
	stop()

	acked, maybe := results(t, pubs)
	if len(maybe) == 0 {
		t.Fatal("got no publish answered -5 while Redis was down, want some (was the outage seen?)")
	}
	t.Logf("%d publishes acknowledged, %d answered -5", len(acked), len(maybe))
	drain(t, subs, acked, 60*time.Second)
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
