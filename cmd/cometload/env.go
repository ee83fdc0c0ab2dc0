package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Env is what every scenario needs: the server, how to speak to it and how
// to watch it.
type Env struct {
	Proto Protocol
	Addr  string // host:port of the server (the first of Addrs)
	// Addrs, when the held scenario spreads its polls over several nodes
	// sharing one engine, are every node's host:port, Addr first (the
	// node that gets the publish). Empty for one server.
	Addrs  []string
	Label  string // names the server in reports ("ours", "nchan-1w", ...)
	Procs  Procs  // the server's processes, for /proc readings
	Prefix string // channel names start with it (unique per run)
	// DebugAddr is host:port of net/http/pprof in a debug build of the
	// server (see docs/PERFORMANCE.md): goroutine counts and forced GCs.
	DebugAddr string
	// DebugAddrs, with several nodes, are every node's debug address
	// (DebugAddr first): goroutines are summed over them and each is
	// made to collect garbage before a memory reading.
	DebugAddrs []string
	// Sources are the client source addresses to spread connections over.
	Sources []string
	Log     io.Writer
	Run     int // the run number, to pair alternating runs in Summarize
	// ProfileDir, with DebugAddr, receives a heap profile taken while the
	// held scenario's polls are held.
	ProfileDir string
}

// saveProfile copies a pprof endpoint of the debug build into ProfileDir.
func (e *Env) saveProfile(path, file string) error {
	if e.DebugAddr == "" || e.ProfileDir == "" {
		return nil
	}
	r, err := debugGet(e.DebugAddr, path)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(filepath.Join(e.ProfileDir, file))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, r)
	return err
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

func (e *Env) source(i int) string {
	if len(e.Sources) == 0 {
		return ""
	}
	return e.Sources[i%len(e.Sources)]
}

// goroutineCounter is a protocol whose server reports its goroutines.
type goroutineCounter interface {
	Goroutines(c *Conn) (int, error)
}

// Goroutines asks the debug build for the server's goroutine count, or
// else the server itself (our /status.json); -1 when neither can tell.
// With several nodes it is the sum over them, -1 unless every node tells.
func (e *Env) Goroutines() int {
	total := 0
	if len(e.debugAddrs()) == 0 {
		gc, ok := e.Proto.(goroutineCounter)
		if !ok {
			return -1
		}
		for _, addr := range e.nodes() {
			c := NewConn(addr, "")
			n, err := gc.Goroutines(c)
			c.Close()
			if err != nil {
				return -1
			}
			total += n
		}
		return total
	}
	for _, addr := range e.debugAddrs() {
		n := debugGoroutines(addr)
		if n < 0 {
			return -1
		}
		total += n
	}
	return total
}

// debugGoroutines reads the goroutine count of the debug build at addr,
// -1 when it cannot.
func debugGoroutines(addr string) int {
	r, err := debugGet(addr, "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return -1
	}
	defer r.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total")))
	if err != nil {
		return -1
	}
	return n
}

// GC makes the debug build (every node's) collect garbage before a memory
// reading.
func (e *Env) GC() {
	for _, addr := range e.debugAddrs() {
		if r, err := debugGet(addr, "/debug/pprof/heap?gc=1"); err == nil {
			io.Copy(io.Discard, r)
			r.Close()
		}
	}
}

// nodes are the servers of the run: Addrs, or Addr alone.
func (e *Env) nodes() []string {
	if len(e.Addrs) > 0 {
		return e.Addrs
	}
	return []string{e.Addr}
}

// debugAddrs are the debug builds' addresses: DebugAddrs, or DebugAddr
// alone, or none.
func (e *Env) debugAddrs() []string {
	if len(e.DebugAddrs) > 0 {
		return e.DebugAddrs
	}
	if e.DebugAddr != "" {
		return []string{e.DebugAddr}
	}
	return nil
}

func debugGet(addr, path string) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{resp.Body, closerFunc(func() error { cancel(); return resp.Body.Close() })}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// WaitHeld waits until the server holds at least n polls (bounded by
// limit); with several nodes, until they hold n between them. Without a
// count from the server it waits settle and trusts it (-1).
func (e *Env) WaitHeld(n int, limit, settle time.Duration) (int, error) {
	per, err := e.WaitHeldPerNode(n, limit, settle)
	if per == nil {
		return -1, err
	}
	return sum(per), err
}

// WaitHeldPerNode is WaitHeld with each node's count, in the order of
// nodes(); nil when a node cannot tell.
func (e *Env) WaitHeldPerNode(n int, limit, settle time.Duration) ([]int, error) {
	nodes := e.nodes()
	conns := make([]*Conn, len(nodes))
	for i, addr := range nodes {
		conns[i] = NewConn(addr, "")
		defer conns[i].Close()
	}
	per := make([]int, len(nodes))
	deadline := time.Now().Add(limit)
	for {
		for i, c := range conns {
			h, err := e.Proto.Held(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", nodes[i], err)
			}
			if h < 0 {
				time.Sleep(settle)
				return nil, nil
			}
			per[i] = h
		}
		if h := sum(per); h >= n {
			return per, nil
		} else if time.Now().After(deadline) {
			if len(nodes) > 1 {
				return per, fmt.Errorf("servers hold %d polls (%v) after %v, want %d", h, per, limit, n)
			}
			return per, fmt.Errorf("server holds %d polls after %v, want %d", h, limit, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// Result is one run of one scenario: one JSON line.
type Result struct {
	Scenario string             `json:"scenario"`
	Server   string             `json:"server"`
	Params   map[string]any     `json:"params"`
	Metrics  map[string]float64 `json:"metrics"`
	Series   []Sample           `json:"series,omitempty"`
	Errors   []string           `json:"errors,omitempty"`
	Start    time.Time          `json:"start"`
	Run      int                `json:"run"`
}

// Sample is one reading of a soak run.
type Sample struct {
	T          float64 `json:"t_s"`
	RSS        int64   `json:"rss"`
	PSS        int64   `json:"pss"`
	Threads    int     `json:"threads"`
	Goroutines int     `json:"goroutines"`
	Held       int     `json:"held"`
}

func newResult(scenario string, e *Env, params map[string]any) *Result {
	return &Result{Scenario: scenario, Server: e.Label, Params: params, Metrics: map[string]float64{}, Start: time.Now().UTC(), Run: e.Run}
}

func (r *Result) errorf(format string, args ...any) {
	if len(r.Errors) < 20 {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// JSON is the result as one line.
func (r *Result) JSON() []byte {
	b, _ := json.Marshal(r)
	return b
}

// Table writes the result readably.
func (r *Result) Table(w io.Writer) {
	fmt.Fprintf(w, "== %s on %s %v\n", r.Scenario, r.Server, r.Params)
	keys := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-28s %14.2f\n", k, r.Metrics[k])
	}
	for _, s := range r.Series {
		fmt.Fprintf(w, "  t=%6.1fs rss=%7.1fMB pss=%7.1fMB threads=%d goroutines=%d held=%d\n", s.T, mb(s.RSS), mb(s.PSS), s.Threads, s.Goroutines, s.Held)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// percentiles returns p50, p90, p99 and max in milliseconds.
func percentiles(ns []int64) (p50, p90, p99, mx float64) {
	if len(ns) == 0 {
		return
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return float64(s[i]) / 1e6
	}
	return at(0.50), at(0.90), at(0.99), float64(s[len(s)-1]) / 1e6
}

// ParseAddrs reads "host:port,host:port,...", none twice. "" gives none.
func ParseAddrs(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		host, port, err := net.SplitHostPort(f)
		if err != nil {
			return nil, fmt.Errorf("bad address %q: %v", f, err)
		}
		if host == "" {
			return nil, fmt.Errorf("bad address %q: no host", f)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("bad address %q: bad port", f)
		}
		if seen[f] {
			return nil, fmt.Errorf("address %q given twice", f)
		}
		seen[f] = true
		out = append(out, f)
	}
	return out, nil
}
