package browser

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/bidi"
	"github.com/simple-comet/simple-comet/internal/testutil/browser"
)

//go:embed testdata/modern.html
var modernPage string

// page is one browser tab on a harness page, whichever the browser.
type page interface {
	// eval evaluates expr (awaiting a promise) and decodes its JSON into out.
	eval(t testing.TB, expr string, out any)
	close(t testing.TB)
	navigate(t testing.TB, url string)
}

// engine opens tabs of one browser; the modern-client scenarios run on
// every engine.
type engine struct {
	name string
	open func(t testing.TB, url string) page
}

type chromePage struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (p *chromePage) eval(t testing.TB, expr string, out any) {
	t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string]("(async () => JSON.stringify(await ("+expr+")))()", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	if out != nil && s != "" {
		if err := json.Unmarshal([]byte(s), out); err != nil {
			t.Fatalf("evaluating %s: decoding %q: %v", expr, s, err)
		}
	}
}

func (p *chromePage) close(testing.TB) { p.cancel() }

func (p *chromePage) navigate(t testing.TB, u string) {
	t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
}

// chromium starts a headless Chromium whose every page is a new tab (the
// first tab stays blank: closing it would close the browser).
func chromium(t testing.TB) engine {
	b := browser.Start(t)
	return engine{name: "chromium", open: func(t testing.TB, u string) page {
		t.Helper()
		ctx, cancel := chromedp.NewContext(b)
		t.Cleanup(cancel)
		p := &chromePage{ctx: ctx, cancel: cancel}
		p.navigate(t, u)
		return p
	}}
}

type firefoxPage struct{ tab *bidi.Tab }

func (p *firefoxPage) eval(t testing.TB, expr string, out any) {
	t.Helper()
	p.tab.Eval(t, expr, out)
}
func (p *firefoxPage) close(t testing.TB)              { p.tab.Close(t) }
func (p *firefoxPage) navigate(t testing.TB, u string) { p.tab.Navigate(t, u) }

// shared is the one Firefox of the package: starting Firefox takes
// seconds, so the Firefox tests share it, each with tabs of its own on
// origins of its own (a page server per test), closed when it ends.
var shared struct {
	sync.Mutex
	b   *bidi.Browser
	dir string
}

// firefox returns the shared headless Firefox ESR (started on first use),
// driven over WebDriver BiDi.
func firefox(t testing.TB) engine {
	t.Helper()
	bidi.Require(t)
	shared.Lock()
	defer shared.Unlock()
	if shared.b == nil {
		dir, err := os.MkdirTemp("", "simple-comet-firefox-")
		if err != nil {
			t.Fatal(err)
		}
		if shared.b, err = bidi.Launch(dir); err != nil {
			os.RemoveAll(dir)
			t.Fatal(err)
		}
		shared.dir = dir
	}
	b := shared.b
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("firefox output:\n%s", b.Output())
		}
	})
	return engine{name: "firefox", open: func(t testing.TB, u string) page {
		t.Helper()
		p := &firefoxPage{tab: b.Tab(t)}
		t.Cleanup(func() { p.tab.TryClose() })
		p.navigate(t, u)
		return p
	}}
}

// closeFirefox closes the shared Firefox, if a test started it.
func closeFirefox() {
	shared.Lock()
	defer shared.Unlock()
	if shared.b != nil {
		shared.b.Close()
		os.RemoveAll(shared.dir)
		shared.b = nil
	}
}

// serveModern serves the modern harness on 127.0.0.1 (a secure context, so
// Web Locks exist), loading the UMD build from comet at / and the ES module
// at /esm; /away is a plain page to navigate to. It returns the base URL.
func serveModern(t testing.TB, comet string) string {
	t.Helper()
	umd := strings.ReplaceAll(modernPage, "{{LOADER}}", `<script src="`+comet+`/simple-comet.umd.js"></script>`)
	esm := strings.ReplaceAll(modernPage, "{{LOADER}}", `<script type="module">import { subscribe, start } from "`+comet+`/simple-comet.mjs"; window.SimpleComet = { subscribe, start };</script>`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			io.WriteString(w, umd)
		case "/esm":
			io.WriteString(w, esm)
		case "/away":
			io.WriteString(w, "<!DOCTYPE html><title>away</title><p>away")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// jsonRead is the .json read resource of channels on base.
func jsonRead(base string, channels ...string) string {
	return base + "/channels/" + url.PathEscape(strings.Join(channels, "|")) + ".json"
}

// waitHeld waits until the server holds exactly n polls.
func waitHeld(t testing.TB, base string, n int64, within time.Duration) {
	t.Helper()
	api.Eventually(t, fmt.Sprintf("%d held polls", n), within, func() bool { return api.Held(t, base) == n })
}

// heldSampler records the largest held count seen until stopped.
type heldSampler struct {
	mu   sync.Mutex
	max  int
	stop chan struct{}
	done chan struct{}
}

func sampleHeld(t testing.TB, base string) *heldSampler {
	s := &heldSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			r, err := api.Try(context.Background(), nil, base, http.MethodGet, "/status.json", "", nil)
			if err != nil {
				continue
			}
			var st struct {
				Status struct {
					Held int `json:"held_connections_count"`
				} `json:"status"`
			}
			json.Unmarshal(r.Body, &st)
			s.mu.Lock()
			s.max = max(s.max, st.Status.Held)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.Stop() })
	return s
}

// Stop ends the sampling and returns the largest count seen.
func (s *heldSampler) Stop() int {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// logOf is what subscription name of p received so far.
func logOf(t testing.TB, p page, name string) []string {
	t.Helper()
	var l []string
	p.eval(t, "logs["+js(name)+"] || []", &l)
	return l
}

// expected is the log a subscription to chans must end with: each
// channel's messages in publish order (the order between channels depends
// on how the replies fell, so each channel is compared on its own).
func perChannel(log []string) map[string][]string {
	m := map[string][]string{}
	for _, e := range log {
		ch, _, _ := strings.Cut(e, ":")
		m[ch] = append(m[ch], e)
	}
	return m
}

// waitLog waits until subscription name of p has received exactly want
// (per channel, in order), and fails at once on a duplicate.
func waitLog(t testing.TB, p page, label, name string, want []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	wantBy := perChannel(want)
	for {
		got := logOf(t, p, name)
		seen := map[string]bool{}
		for _, e := range got {
			if seen[e] {
				t.Fatalf("%s: %q delivered twice: %q", label, e, got)
			}
			seen[e] = true
		}
		gotBy := perChannel(got)
		ok := len(got) == len(want)
		for ch, w := range wantBy {
			g := gotBy[ch]
			if !slices.Equal(g, w[:min(len(w), len(g))]) || len(g) > len(w) {
				t.Fatalf("%s: channel %s: got %q, want (a prefix of) %q", label, ch, g, w)
			}
			ok = ok && len(g) == len(w)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after %v: got %q, want %q", label, within, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// messages is the log of contents ch-from … ch-(to-1) on each channel.
func messages(chans []string, from, to int) []string {
	var l []string
	for _, ch := range chans {
		for i := from; i < to; i++ {
			l = append(l, fmt.Sprintf("%s:%s-%d", ch, ch, i))
		}
	}
	return l
}

func publishRange(t testing.TB, base string, chans []string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		for _, ch := range chans {
			api.Publish(t, base, ch, fmt.Sprintf("%s-%d", ch, i))
		}
	}
}

// leader is the index of the tab that polls now: the one whose last read
// began most recently (only the leading tab reads).
func leader(t testing.TB, pages []page) int {
	t.Helper()
	best, at := -1, int64(0)
	for i, p := range pages {
		if p == nil {
			continue
		}
		var last int64
		p.eval(t, "lastPoll", &last)
		if last > at {
			best, at = i, last
		}
	}
	if best < 0 {
		t.Fatal("no tab has polled")
	}
	return best
}

// subscribeJS is the call that subscribes name to url with opts (a JSON
// object) in a harness page.
func subscribeJS(name, u, opts string) string {
	return fmt.Sprintf("sub(%s, %s, %s)", js(name), js(u), opts)
}

// hashFor is the fragment that makes the harness subscribe as it loads.
func hashFor(name, u string, opts any) string {
	b, _ := json.Marshal([]any{name, u, opts})
	return "#" + url.PathEscape(string(b))
}

// TestModernFilesServed: the server serves both modern builds as they are
// embedded, as JavaScript, with the cache headers of the legacy client and
// Access-Control-Allow-Origin: * (a page elsewhere may import the module).
func TestModernFilesServed(t *testing.T) {
	s := startComet(t)
	legacy := api.Get(t, s.URL, "/simple-comet.min.js")
	for path, want := range map[string][]byte{"/simple-comet.mjs": client.Module, "/simple-comet.umd.js": client.UMD} {
		r := api.Get(t, s.URL, path)
		if got := r.Body; !bytes.Equal(got, want) {
			t.Errorf("GET %s: got %d bytes, want the %d embedded", path, len(got), len(want))
		}
		h := r.Header
		if !strings.HasPrefix(h.Get("Content-Type"), "application/javascript") || h.Get("Access-Control-Allow-Origin") != "*" ||
			h.Get("Cache-Control") != legacy.Header.Get("Cache-Control") {
			t.Errorf("GET %s: got Content-Type %q, Access-Control-Allow-Origin %q, Cache-Control %q; want JavaScript, *, and %q as for the legacy client",
				path, h.Get("Content-Type"), h.Get("Access-Control-Allow-Origin"), h.Get("Cache-Control"), legacy.Header.Get("Cache-Control"))
		}
	}
}
