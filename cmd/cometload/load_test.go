package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// TestMain is also the held scenario's client process when Held forks
// the test binary (HeldOptions.Self) as "child-held ...".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "child-held" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(server.MainNoLeaks(m))
}

func oursEnv(t *testing.T) *Env {
	t.Helper()
	s := server.Start(t, "--enable-status")
	p, err := NewProtocol("ours")
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Proto: p, Addr: s.Addr, Label: "ours", Procs: Procs{Roots: []int{s.Pid()}}, Prefix: "t-"}
}

func wantMetric(t *testing.T, r *Result, name string, want float64) {
	t.Helper()
	got, ok := r.Metrics[name]
	if !ok || got != want {
		t.Errorf("%s: got %v (present %v), want %v\n%s", name, got, ok, want, r.JSON())
	}
}

func TestFanoutAgainstRealServer(t *testing.T) {
	e := oursEnv(t)
	r := Fanout(e, "fanout", FanoutOptions{Subscribers: 5, Messages: 10, Rate: 50, Size: 32, Grace: 10 * time.Second})
	if len(r.Errors) > 0 {
		t.Fatalf("got errors %v, want none", r.Errors)
	}
	wantMetric(t, r, "deliveries", 50)
	wantMetric(t, r, "missed", 0)
	wantMetric(t, r, "duplicates", 0)
	if _, ok := r.Metrics["cpu_us_per_delivery"]; !ok {
		t.Errorf("got no cpu_us_per_delivery, want one (server pid given)")
	}
	if r.Metrics["latency_max_ms"] <= 0 {
		t.Errorf("got latency_max_ms %v, want > 0", r.Metrics["latency_max_ms"])
	}
}

func TestChurnAgainstRealServer(t *testing.T) {
	e := oursEnv(t)
	r := Fanout(e, "churn", FanoutOptions{Subscribers: 3, Messages: 10, Rate: 20, Size: 16, Churners: 3, ChurnHold: 50 * time.Millisecond, SampleEvery: 200 * time.Millisecond})
	if len(r.Errors) > 0 {
		t.Fatalf("got errors %v, want none", r.Errors)
	}
	wantMetric(t, r, "missed", 0)
	wantMetric(t, r, "deliveries", 30)
	if r.Metrics["churned_polls"] < 1 {
		t.Errorf("got %v churned polls, want some", r.Metrics["churned_polls"])
	}
	// Abandoned polls leave nothing behind: the server's goroutines (from
	// /status.json) come back to where they were, give or take the tool's
	// own status connection.
	before, okB := r.Metrics["goroutines_before"]
	after, okA := r.Metrics["goroutines_after"]
	t.Logf("server goroutines: %v before, %v after %v abandoned polls", before, after, r.Metrics["churned_polls"])
	if !okB || !okA || after > before+2 {
		t.Errorf("got goroutines %v -> %v (present %v %v), want back to the start", before, after, okB, okA)
	}
	if len(r.Series) < 2 || r.Series[0].RSS <= 0 {
		t.Errorf("got series %+v, want at least 2 readings with RSS", r.Series)
	}
}

func TestPublishAgainstRealServer(t *testing.T) {
	e := oursEnv(t)
	r := Publish(e, PublishOptions{Publishers: 4, Count: 200, Duration: 30 * time.Second, Channels: 2, Size: 16})
	wantMetric(t, r, "publishes", 200)
	wantMetric(t, r, "errors", 0)
}

// TestHeldChild runs a held scenario's client process in-process: it must
// report its polls sent, then every one released by a single publish.
func TestHeldChild(t *testing.T) {
	e := oursEnv(t)
	c := NewConn(e.Addr, "")
	defer c.Close()
	if err := e.Proto.Prepare(c, "t-held0"); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	inR, inW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- HeldChild([]string{e.Addr, "ours", "127.0.0.1", "t-held", "0", "20", "false", "30s", "false"}, inR, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || sc.Text() != "sent 20 0" {
		t.Fatalf("got %q, want %q", sc.Text(), "sent 20 0")
	}
	if _, err := e.WaitHeld(20, 30*time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := e.Proto.Publish(c, "t-held0", Content(0, time.Now(), 8)); err != nil {
		t.Fatal(err)
	}
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "done 20 ") || !strings.HasSuffix(sc.Text(), " 0") {
		t.Fatalf("got %q, want done 20 ... 0", sc.Text())
	}
	inW.Close()
	io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSummarizeRatios(t *testing.T) {
	var in bytes.Buffer
	for run, pair := range [][3]float64{{10, 20, 40}, {12, 20, 10}, {30, 20, 15}} {
		for i, server := range []string{"ours", "nchan-1w", "nchan-2w"} {
			r := Result{Scenario: "fanout", Server: server, Run: run + 1, Params: map[string]any{"subscribers": 1000}, Metrics: map[string]float64{"cpu_us_per_delivery": pair[i]}}
			in.Write(r.JSON())
			in.WriteByte('\n')
		}
	}
	rs, err := ReadResults(&in)
	if err != nil || len(rs) != 9 {
		t.Fatalf("got %d results, %v; want 9", len(rs), err)
	}
	var out bytes.Buffer
	Summarize(rs, "ours", &out)
	// per-run ratios 0.5, 0.6, 1.5: median 0.60, range 0.50–1.50
	if want := "**0.60** (0.50–1.50)"; !strings.Contains(out.String(), want) {
		t.Errorf("got\n%s\nwant it to contain %q", out.String(), want)
	}
	// against the better (lower) nchan per run: 10/20, 12/10, 30/15
	if want := "**1.20** (0.50–2.00) |\n"; !strings.Contains(out.String(), want) {
		t.Errorf("got\n%s\nwant it to contain %q", out.String(), want)
	}
	if want := "| cpu_us_per_delivery | 20.0 (20.0–20.0, n=3) | 15.0 (10.0–40.0, n=3) | 12.0 (10.0–30.0, n=3) |"; !strings.Contains(out.String(), want) {
		t.Errorf("got\n%s\nwant it to contain %q", out.String(), want)
	}
}

func TestProcSampleOfThisProcess(t *testing.T) {
	s, err := Procs{Roots: []int{os.Getpid()}}.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if s.Procs != 1 || s.RSS <= 0 || s.Threads <= 0 {
		t.Errorf("got %+v, want one process with RSS and threads", s)
	}
}

func TestContentRoundTrip(t *testing.T) {
	at := time.Unix(1780000000, 123456789)
	b := Content(42, at, 64)
	if len(b) != 64 {
		t.Errorf("got %d bytes, want 64", len(b))
	}
	seq, ns, ok := ParseContent(string(b))
	if !ok || seq != 42 || ns != at.UnixNano() {
		t.Errorf("got %d %d %v, want 42 %d true", seq, ns, ok, at.UnixNano())
	}
}
