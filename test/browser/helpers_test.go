package browser

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

//go:embed testdata/harness.html
var harness string

// hold is the server's --http-timeout in these tests, in seconds: short, so
// that the held polls turn over several times in a test.
const hold = 2

// startComet runs the real server with a short hold.
func startComet(t testing.TB, args ...string) *server.Server {
	t.Helper()
	return server.Start(t, append([]string{fmt.Sprintf("--http-timeout=%d", hold)}, args...)...)
}

// port is the TCP port of addr (host:port).
func port(t testing.TB, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// otherOrigin is the server's base URL under the host name localhost, a
// different origin from the 127.0.0.1 the test pages are served from.
func otherOrigin(t testing.TB, addr string) string {
	t.Helper()
	return "http://localhost:" + port(t, addr)
}

// servePage serves the harness page on 127.0.0.1, loading the minified
// client from comet (a base URL), and returns the page's URL.
func servePage(t testing.TB, comet string) string {
	t.Helper()
	page := strings.ReplaceAll(harness, "{{COMET}}", comet)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// readURL is the JSON-P read resource of channels on base.
func readURL(base string, channels ...string) string {
	return base + "/channels/" + url.PathEscape(strings.Join(channels, "|")) + ".jsonp"
}

// eval runs expr in the page and decodes its value into T.
func eval[T any](t testing.TB, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitFor polls expr (a JSON-able expression) until its JSON equals want,
// for at most within.
func waitFor(t testing.TB, tab context.Context, expr, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for {
		got = eval[string](t, tab, "JSON.stringify("+expr+")")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %s: got %s, want %s", within, expr, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsonOf is the JSON of v, as waitFor compares it.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// noErrors fails the test if the page saw an uncaught error.
func noErrors(t testing.TB, tab context.Context) {
	t.Helper()
	if errs := eval[[]string](t, tab, "errors"); len(errs) > 0 {
		t.Errorf("page errors: got %q, want none", errs)
	}
}

// countingProxy forwards to a server and records every read request it
// sees. While held, it keeps new requests waiting (as a hung network
// would) until released.
type countingProxy struct {
	URL string // base URL, on localhost (another origin than the page)

	rp *httputil.ReverseProxy

	mu       sync.Mutex
	reads    []url.Values // query of each read, in arrival order
	answered []string     // cb of each read answered to a browser still listening
	gate     chan struct{}
}

func newCountingProxy(t testing.TB, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{rp: httputil.NewSingleHostReverseProxy(u)}
	// Keep the proxy's error log out of the test output: a refused
	// backend is expected while a server restarts.
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Release()
		srv.Close()
	})
	p.URL = otherOrigin(t, srv.Listener.Addr().String())
	return p
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if strings.HasPrefix(r.URL.Path, "/channels/") {
		p.reads = append(p.reads, r.URL.Query())
	}
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	p.rp.ServeHTTP(w, r)
	if strings.HasPrefix(r.URL.Path, "/channels/") && r.Context().Err() == nil {
		p.mu.Lock()
		p.answered = append(p.answered, r.URL.Query().Get("cb"))
		p.mu.Unlock()
	}
}

// Answered returns the callback names of the reads answered so far.
func (p *countingProxy) Answered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.answered...)
}

// Reads returns the queries of the reads seen so far.
func (p *countingProxy) Reads() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.reads...)
}

// Hold makes new requests wait until Release.
func (p *countingProxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

// Release lets every waiting request through. Safe to call twice.
func (p *countingProxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// waitReads waits until the proxy has seen at least n reads.
func (p *countingProxy) waitReads(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(p.Reads()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: got %d reads at the proxy, want >= %d", within, len(p.Reads()), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openHarness starts a browser tab on the harness page, which loads the
// client from comet; hash, when not empty, is a read URL the page
// subscribes to while it is still being parsed.
func openHarness(t testing.TB, tab context.Context, comet, hash string) {
	t.Helper()
	u := servePage(t, comet)
	if hash != "" {
		u += "#" + url.QueryEscape(hash)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
		t.Fatalf("opening the harness: %v", err)
	}
	if !eval[bool](t, tab, `typeof SimpleComet == "object" && typeof SimpleComet.subscribe == "function"`) {
		t.Fatal("the page has no SimpleComet after loading simple-comet.min.js")
	}
}
