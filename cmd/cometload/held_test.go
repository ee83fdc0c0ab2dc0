package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/redis"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestSplitHeld(t *testing.T) {
	for _, c := range []struct {
		n, nodes, per int
		want          []heldShare
	}{
		// one node: filled in turn, as before several nodes were possible
		{18000, 1, 9000, []heldShare{{0, 0, 9000}, {0, 9000, 9000}}},
		{10000, 1, 9000, []heldShare{{0, 0, 9000}, {0, 9000, 1000}}},
		{5, 1, 9000, []heldShare{{0, 0, 5}}},
		// three nodes of 17,000: two processes each
		{51000, 3, 9000, []heldShare{{0, 0, 9000}, {0, 9000, 8000}, {1, 17000, 9000}, {1, 26000, 8000}, {2, 34000, 9000}, {2, 43000, 8000}}},
		// the first n mod nodes nodes get one more
		{7, 3, 2, []heldShare{{0, 0, 2}, {0, 2, 1}, {1, 3, 2}, {2, 5, 2}}},
		{2, 3, 10, []heldShare{{0, 0, 1}, {1, 1, 1}}},
		{0, 3, 10, nil},
	} {
		got := splitHeld(c.n, c.nodes, c.per)
		if !slices.Equal(got, c.want) {
			t.Errorf("splitHeld(%d, %d, %d): got %v, want %v", c.n, c.nodes, c.per, got, c.want)
		}
		total := 0
		for _, s := range got {
			if s.first != total || s.n > c.per {
				t.Errorf("splitHeld(%d, %d, %d): share %v is not contiguous or too big", c.n, c.nodes, c.per, s)
			}
			total += s.n
		}
		if total != c.n {
			t.Errorf("splitHeld(%d, %d, %d): %d polls in all, want %d", c.n, c.nodes, c.per, total, c.n)
		}
	}
}

func TestParseAddrs(t *testing.T) {
	got, err := ParseAddrs(" 127.0.0.1:1,127.0.0.1:2 ,,[::1]:3,localhost:4")
	if want := []string{"127.0.0.1:1", "127.0.0.1:2", "[::1]:3", "localhost:4"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q %v, want %q", got, err, want)
	}
	if got, err := ParseAddrs(""); err != nil || got != nil {
		t.Errorf("empty: got %q %v, want none", got, err)
	}
	for _, bad := range []string{"127.0.0.1", ":80", "127.0.0.1:0", "127.0.0.1:x", "127.0.0.1:70000", "127.0.0.1:5,127.0.0.1:5"} {
		if _, err := ParseAddrs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRunRejectsAddrsOutsideHeld: -addrs and -debug-addr lists that the
// scenario cannot use are an error, not silently ignored.
func TestRunRejectsAddrsOutsideHeld(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "fanout", "-addrs", "127.0.0.1:1,127.0.0.1:2"},
		{"-scenario", "held", "-addrs", "127.0.0.1:1,127.0.0.1:2", "-debug-addr", "127.0.0.1:3"},
		{"-scenario", "held", "-debug-addr", "127.0.0.1:3,127.0.0.1:4"},
		{"-scenario", "held", "-addrs", "127.0.0.1"},
	} {
		var out, errs strings.Builder
		if code := run(args, &out, &errs); code != 2 || out.Len() > 0 {
			t.Errorf("%q: got exit %d, output %q, want 2 and none", args, code, out.String())
		}
	}
}

func nodesEnv(t *testing.T, nodes []*server.Server, extra ...int) *Env {
	t.Helper()
	p, err := NewProtocol("ours")
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Proto: p, Label: "ours", Prefix: "t-"}
	for _, n := range nodes {
		e.Addrs = append(e.Addrs, n.Addr)
		e.Procs.Roots = append(e.Procs.Roots, n.Pid())
	}
	e.Addr = e.Addrs[0]
	e.Procs.Roots = append(e.Procs.Roots, extra...)
	return e
}

func self(t *testing.T) string {
	t.Helper()
	s, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHeldOverNodesSharingRedis: two nodes on one redis-server hold the
// polls between them (each its share, in client processes of at most
// PerProcess), and one publish to the first releases them all.
func TestHeldOverNodesSharingRedis(t *testing.T) {
	rs := redis.Start(t)
	a := server.Start(t, "--enable-status", "--redis-url="+rs.URL)
	b := server.Start(t, "--enable-status", "--redis-url="+rs.URL)
	e := nodesEnv(t, []*server.Server{a, b}, rs.Pid())
	r := Held(e, HeldOptions{N: 30, PerProcess: 10, Self: self(t), Wait: 30 * time.Second})
	if len(r.Errors) > 0 {
		t.Fatalf("got errors %v, want none", r.Errors)
	}
	if r.Params["nodes"] != 2 {
		t.Errorf("got params %v, want nodes 2", r.Params)
	}
	wantMetric(t, r, "held", 30)
	wantMetric(t, r, "released", 30)
	wantMetric(t, r, "not_released", 0)
	wantMetric(t, r, "errors", 0)
	wantMetric(t, r, "client_processes", 4)
	for _, node := range []string{"node0", "node1"} {
		wantMetric(t, r, node+"_held", 15)
		wantMetric(t, r, node+"_released", 15)
		if r.Metrics[node+"_release_ms"] <= 0 || r.Metrics[node+"_release_ms"] > r.Metrics["release_ms"] {
			t.Errorf("%s_release_ms %v, want in (0, release_ms %v]", node, r.Metrics[node+"_release_ms"], r.Metrics["release_ms"])
		}
	}
}

// TestHeldOverUnsharedNodesCountsTheMissed: nodes with an engine each do
// not share the publish; the polls held on the second are reported as not
// released, node by node.
func TestHeldOverUnsharedNodesCountsTheMissed(t *testing.T) {
	a := server.Start(t, "--enable-status")
	b := server.Start(t, "--enable-status")
	e := nodesEnv(t, []*server.Server{a, b})
	// The second node needs the channel too, or its polls are refused.
	c := NewConn(b.Addr, "")
	defer c.Close()
	if err := e.Proto.Prepare(c, "t-held0"); err != nil {
		t.Fatal(err)
	}
	r := Held(e, HeldOptions{N: 6, PerProcess: 10, Self: self(t), Wait: 3 * time.Second})
	wantMetric(t, r, "held", 6)
	wantMetric(t, r, "node0_released", 3)
	wantMetric(t, r, "node1_released", 0)
	wantMetric(t, r, "released", 3)
	wantMetric(t, r, "not_released", 3)
	if _, ok := r.Metrics["node1_release_ms"]; ok {
		t.Errorf("got node1_release_ms %v, want none (nothing released there)", r.Metrics["node1_release_ms"])
	}
}
