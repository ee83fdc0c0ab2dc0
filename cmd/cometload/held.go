package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HeldOptions: N polls held at once, on one channel or on N distinct
// channels, spread over client processes of at most PerProcess
// connections each (the open-files limit is per process).
type HeldOptions struct {
	N          int
	Distinct   bool
	PerProcess int
	// HangUp: each client closes its connection as soon as it has its
	// answer, so the release also times the teardown of the connections
	// already answered (the tool's way before 4338298).
	HangUp bool
	Self   string        // this executable, run as "Self child-held ..."
	Wait   time.Duration // how long a child waits for its releases
}

// Held runs the held scenario: memory per held poll, then the release of
// every poll by one publish (or, with distinct channels, one per channel).
// With several nodes (Env.Addrs) sharing one engine, the polls are spread
// evenly over them, the held count is their sum, the publish goes to the
// first node and the release is timed to the last answer on any node;
// each node's part is reported too (node0_held, node0_released, ...).
func Held(e *Env, o HeldOptions) *Result {
	if o.PerProcess <= 0 {
		o.PerProcess = 9000
	}
	if o.Wait <= 0 {
		o.Wait = 90 * time.Second
	}
	params := map[string]any{"n": o.N, "distinct": o.Distinct}
	if k := len(e.nodes()); k > 1 {
		params["nodes"] = k // one node: the parameters of earlier runs
	}
	if o.HangUp {
		params["hang_up"] = true
	}
	r := newResult("held", e, params)
	channels := 1
	if o.Distinct {
		channels = o.N
	}
	name := func(i int) string { return e.Prefix + "held" + strconv.Itoa(i) }
	if err := parallel(channels, 8, func(c *Conn, i int) error { return e.Proto.Prepare(c, name(i)) }, e.Addr); err != nil {
		r.errorf("prepare: %v", err)
		return r
	}
	sc := NewConn(e.Addr, "")
	e.settle(sc)
	sc.Close()
	before, _ := e.Procs.Sample()

	nodes := e.nodes()
	shares := splitHeld(o.N, len(nodes), o.PerProcess)
	if len(shares) > maxHeldProcs {
		r.errorf("%d client processes, at most %d (source addresses 127.0.0.10 ...): raise -per-process", len(shares), maxHeldProcs)
		return r
	}
	type child struct {
		cmd  *exec.Cmd
		in   io.Closer
		out  *bufio.Scanner
		node int
	}
	kids := make([]*child, 0, len(shares))
	defer func() {
		for _, k := range kids {
			_ = k.in.Close()
			_ = k.cmd.Process.Kill() // only our own children, by pid
			_ = k.cmd.Wait()
		}
	}()
	for p, sh := range shares {
		src := fmt.Sprintf("127.0.0.%d", 10+p)
		cmd := exec.Command(o.Self, "child-held", nodes[sh.node], e.Proto.Name(), src, e.Prefix+"held", strconv.Itoa(sh.first), strconv.Itoa(sh.n), strconv.FormatBool(o.Distinct), o.Wait.String(), strconv.FormatBool(o.HangUp))
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			r.errorf("child: %v", err)
			return r
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			r.errorf("child: %v", err)
			return r
		}
		if err := cmd.Start(); err != nil {
			r.errorf("child: %v", err)
			return r
		}
		kids = append(kids, &child{cmd: cmd, in: in, out: bufio.NewScanner(out), node: sh.node})
	}
	sendErrs := 0
	for _, k := range kids {
		var sent, errs int
		if !k.out.Scan() {
			r.errorf("child ended early")
			return r
		}
		fmt.Sscanf(k.out.Text(), "sent %d %d", &sent, &errs)
		sendErrs += errs
	}
	heldPer, err := e.WaitHeldPerNode(o.N, 120*time.Second, 5*time.Second)
	if err != nil {
		r.errorf("%v", err)
	}
	held := -1
	if heldPer != nil {
		held = sum(heldPer)
	}
	time.Sleep(time.Second)
	e.GC()
	after, _ := e.Procs.Sample()
	if err := e.saveProfile("/debug/pprof/heap", fmt.Sprintf("heap-held-%d-distinct-%v.pb.gz", o.N, o.Distinct)); err != nil {
		r.errorf("heap profile: %v", err)
	}
	if g := e.Goroutines(); g >= 0 {
		r.Metrics["goroutines_held"] = float64(g)
	}

	cpu0, _ := e.Procs.Sample()
	t0 := time.Now()
	if err := parallel(channels, 16, func(c *Conn, i int) error {
		return e.Proto.Publish(c, name(i), Content(0, time.Now(), 16))
	}, e.Addr); err != nil {
		r.errorf("publish: %v", err)
	}
	released, last, recvErrs := 0, int64(0), 0
	releasedPer, lastPer := make([]int, len(nodes)), make([]int64, len(nodes))
	for _, k := range kids {
		var n, errs int
		var firstNs, lastNs int64
		if k.out.Scan() {
			fmt.Sscanf(k.out.Text(), "done %d %d %d %d", &n, &firstNs, &lastNs, &errs)
		}
		released += n
		recvErrs += errs
		last = max(last, lastNs)
		releasedPer[k.node] += n
		lastPer[k.node] = max(lastPer[k.node], lastNs)
	}
	cpu1, _ := e.Procs.Sample()
	for _, k := range kids {
		_ = k.in.Close() // now the children hang up
	}
	m := r.Metrics
	m["held"] = float64(held)
	// The server's CPU from the publish until every client reported: the
	// answers, and with HangUp also the teardowns of the clients already
	// answered (otherwise they hang up only after this reading: a browser
	// would not hang up at all, but poll again).
	m["release_cpu_us_per_poll"] = float64((cpu1.CPU - cpu0.CPU).Microseconds()) / float64(o.N)
	m["client_processes"] = float64(len(shares))
	m["rss_per_poll_bytes"] = float64(after.RSS-before.RSS) / float64(o.N)
	m["pss_per_poll_bytes"] = float64(after.PSS-before.PSS) / float64(o.N)
	m["rss_before_mb"], m["rss_held_mb"] = mb(before.RSS), mb(after.RSS)
	m["released"] = float64(released)
	m["not_released"] = float64(o.N - released)
	if last > 0 {
		m["release_ms"] = float64(last-t0.UnixNano()) / 1e6
	}
	m["errors"] = float64(sendErrs + recvErrs)
	if len(nodes) > 1 {
		// Each node's part: the publish went to node 0, so the others'
		// release times include the way through the shared engine.
		for i := range nodes {
			if heldPer != nil {
				m[fmt.Sprintf("node%d_held", i)] = float64(heldPer[i])
			}
			m[fmt.Sprintf("node%d_released", i)] = float64(releasedPer[i])
			if lastPer[i] > 0 {
				m[fmt.Sprintf("node%d_release_ms", i)] = float64(lastPer[i]-t0.UnixNano()) / 1e6
			}
		}
	}
	return r
}

// maxHeldProcs is how many client processes the held scenario may fork:
// each dials from a source address of its own, 127.0.0.10 to .254.
const maxHeldProcs = 245

// heldShare is one client process's part of the held scenario: polls
// first to first+n-1, all on node (an index into Env.nodes()).
type heldShare struct{ node, first, n int }

// splitHeld spreads n polls over nodes evenly (the first n mod nodes nodes
// get one more) and each node's polls over client processes of at most
// perProcess polls, filled in turn (one node: as before several nodes
// were possible, so earlier runs stay comparable).
func splitHeld(n, nodes, perProcess int) []heldShare {
	var out []heldShare
	first := 0
	for node := range nodes {
		left := n / nodes
		if node < n%nodes {
			left++
		}
		for left > 0 {
			k := min(perProcess, left)
			out = append(out, heldShare{node: node, first: first, n: k})
			first += k
			left -= k
		}
	}
	return out
}

// parallel runs f(i) for i in [0, n) on workers connections.
func parallel(n, workers int, f func(c *Conn, i int) error, addr string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewConn(addr, "")
			defer c.Close()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(c, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// HeldChild is a client process of the held scenario. args: addr proto src
// prefix first count distinct wait hangup. It opens count polls, prints
// "sent COUNT ERRORS", waits for them to be answered with a message and
// prints "done RELEASED FIRST_NS LAST_NS ERRORS". Unless hangup, it keeps
// the connections open until in ends: clients that hang up as soon as
// they have their answers tear their connections down (on loopback, both
// ends' work, on the cores the server answers on) while the others still
// wait, and the release then times the teardowns too.
func HeldChild(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 9 {
		return fmt.Errorf("child-held: got %d arguments, want 9", len(args))
	}
	hangUp := args[8] == "true"
	addr, src, prefix := args[0], args[2], args[3]
	proto, err := NewProtocol(args[1])
	if err != nil {
		return err
	}
	first, _ := strconv.Atoi(args[4])
	n, _ := strconv.Atoi(args[5])
	distinct := args[6] == "true"
	wait, err := time.ParseDuration(args[7])
	if err != nil {
		return err
	}
	conns := make([]*Conn, n)
	curs := make([]Cursor, n)
	var sendErrs atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				ch := prefix + "0"
				if distinct {
					ch = prefix + strconv.Itoa(first+i)
				}
				conns[i] = NewConn(addr, src)
				if err := proto.PollRequest(conns[i], []string{ch}, &curs[i]); err != nil {
					sendErrs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(out, "sent %d %d\n", n, sendErrs.Load())
	var released, recvErrs atomic.Int64
	var firstNs, lastNs atomic.Int64
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if hangUp {
				defer conns[i].Close()
			}
			msgs, err := proto.PollAnswer(conns[i], &curs[i], wait)
			now := time.Now().UnixNano()
			if err != nil || len(msgs) == 0 {
				recvErrs.Add(1)
				return
			}
			released.Add(1)
			firstNs.CompareAndSwap(0, now)
			for {
				l := lastNs.Load()
				if now <= l || lastNs.CompareAndSwap(l, now) {
					break
				}
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(out, "done %d %d %d %d\n", released.Load(), firstNs.Load(), lastNs.Load(), recvErrs.Load())
	_, _ = io.Copy(io.Discard, in)
	for _, c := range conns {
		c.Close()
	}
	return nil
}
