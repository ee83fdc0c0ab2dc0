package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// The modern client's scenarios, written once for every engine: each
// Test…Chromium / Test…Firefox pair runs the same function on Chromium
// (chromedp) and Firefox ESR (WebDriver BiDi). Scenarios Firefox cannot
// run (freezing a tab) are Chromium tests only.

// scenarioTabsShareOnePoll: 8 tabs on three channel sets, five at first and
// three joining late. The server holds one poll (two at most while it is
// replaced), every tab gets every message of its channels exactly once and
// in order, backlog included for the late ones, and a further request of a
// tab to the same host is served at once.
func scenarioTabsShareOnePoll(t *testing.T, e engine) {
	// A long hold: a request starved by held polls would wait for it.
	s := startComet(t, "--enable-status", "--http-timeout=20")
	comet := otherOrigin(t, s.Addr)
	for _, ch := range []string{"a", "b", "c"} {
		api.Register(t, s.URL, ch)
	}
	base := serveModern(t, comet)
	sets := [][]string{{"a"}, {"b", "c"}, {"a", "c"}}
	var pages []page
	open := func(i int) {
		p := e.open(t, base+"/")
		p.eval(t, subscribeJS("s", jsonRead(comet, sets[i%3]...), `{timeout: 30000}`), nil)
		pages = append(pages, p)
	}
	for i := 0; i < 5; i++ {
		open(i)
	}
	waitHeld(t, s.URL, 1, 15*time.Second)
	sampler := sampleHeld(t, s.URL)
	all := []string{"a", "b", "c"}
	publishRange(t, s.URL, all, 0, 5)
	for i := 5; i < 8; i++ {
		open(i)
	}
	publishRange(t, s.URL, all, 5, 10)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d %v", i, sets[i%3]), "s", messages(sets[i%3], 0, 10), 20*time.Second)
	}
	time.Sleep(300 * time.Millisecond)
	if m := sampler.Stop(); m > 2 {
		t.Errorf("while tabs joined and messages flowed: got up to %d held polls, want at most 2", m)
	}
	waitHeld(t, s.URL, 1, 5*time.Second)
	// Every tab but the leader is idle: a request of any of them to the
	// comet host is answered at once, not queued behind held polls.
	for _, i := range []int{0, 7} {
		start := time.Now()
		var status int
		pages[i].eval(t, "fetch("+js(comet+"/simple-comet.umd.js")+", {cache: 'no-store'}).then(r => r.status)", &status)
		if d := time.Since(start); status != 200 || d > 5*time.Second {
			t.Errorf("tab %d: GET /simple-comet.umd.js: got %d after %v, want 200 at once", i, status, d)
		}
	}
	var polls int
	for i, p := range pages {
		var errs []string
		p.eval(t, "errors", &errs)
		if len(errs) > 0 {
			t.Errorf("tab %d: page errors %q", i, errs)
		}
		var n int
		p.eval(t, "polls", &n)
		polls += n
	}
	t.Logf("%s: 8 tabs, 30 messages: %d reads in all", e.name, polls)
}

// scenarioLeaderClosed: the tab that polls is closed, then the next one:
// the others go on with nothing lost or repeated.
func scenarioLeaderClosed(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	pages := make([]page, 3)
	for i := range pages {
		pages[i] = e.open(t, base+"/")
		pages[i].eval(t, subscribeJS("s", jsonRead(comet, "a"), `{timeout: 8000}`), nil)
	}
	publishRange(t, s.URL, []string{"a"}, 0, 3)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d", i), "s", messages([]string{"a"}, 0, 3), 15*time.Second)
	}
	n := 3
	for round := 0; round < 2; round++ {
		l := leader(t, pages)
		pages[l].close(t)
		pages[l] = nil
		publishRange(t, s.URL, []string{"a"}, n, n+3)
		n += 3
		for i, p := range pages {
			if p != nil {
				waitLog(t, p, fmt.Sprintf("round %d, tab %d", round, i), "s", messages([]string{"a"}, 0, n), 15*time.Second)
			}
		}
	}
	waitHeld(t, s.URL, 1, 5*time.Second)
}

// scenarioCancelEverywhere: cancel() in every tab leaves no poll held, and
// nothing is delivered after it.
func scenarioCancelEverywhere(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	pages := make([]page, 3)
	for i := range pages {
		pages[i] = e.open(t, base+"/")
		pages[i].eval(t, subscribeJS("s", jsonRead(comet, "a"), `{}`), nil)
	}
	publishRange(t, s.URL, []string{"a"}, 0, 2)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d", i), "s", messages([]string{"a"}, 0, 2), 15*time.Second)
	}
	waitHeld(t, s.URL, 1, 5*time.Second)
	for _, p := range pages {
		p.eval(t, "subs.s.cancel(), subs.s.cancel(), true", nil)
	}
	waitHeld(t, s.URL, 0, 5*time.Second)
	polls := make([]int, len(pages))
	for i, p := range pages {
		p.eval(t, "polls", &polls[i])
	}
	publishRange(t, s.URL, []string{"a"}, 2, 4)
	time.Sleep(time.Second)
	for i, p := range pages {
		if got := logOf(t, p, "s"); len(got) != 2 {
			t.Errorf("tab %d after cancel: got %q, want the 2 messages from before", i, got)
		}
		var n int
		var states []string
		p.eval(t, "polls", &n)
		p.eval(t, "states.s", &states)
		if n != polls[i] {
			t.Errorf("tab %d after cancel: got %d more reads, want none", i, n-polls[i])
		}
		if len(states) == 0 || states[len(states)-1] != "stopped" {
			t.Errorf("tab %d: states %q, want the last to be stopped", i, states)
		}
	}
	if h := api.Held(t, s.URL); h != 0 {
		t.Errorf("after cancel: got %d held polls, want 0", h)
	}
}

// scenarioServerRestart: the server stops and starts again on its port;
// the tabs report the errors, back off (no tight loop) and resume with
// nothing lost or repeated.
func scenarioServerRestart(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	pages := make([]page, 2)
	for i := range pages {
		pages[i] = e.open(t, base+"/")
		pages[i].eval(t, subscribeJS("s", jsonRead(comet, "a"), `{timeout: 8000}`), nil)
	}
	publishRange(t, s.URL, []string{"a"}, 0, 2)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d", i), "s", messages([]string{"a"}, 0, 2), 15*time.Second)
	}
	polls := func() int {
		n := 0
		for _, p := range pages {
			var k int
			p.eval(t, "polls", &k)
			n += k
		}
		return n
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	before := polls()
	time.Sleep(4 * time.Second)
	during := polls() - before
	if during > 10 {
		t.Errorf("4 s with the server down: got %d reads, want a backoff (at most 10)", during)
	}
	var errs []map[string]any
	pages[0].eval(t, "errs.s", &errs)
	if len(errs) == 0 {
		t.Error("server down: got no onError, want one per failed read")
	}
	s2 := startComet(t, "--enable-status", "--http-port="+port(t, s.Addr))
	api.Register(t, s2.URL, "a")
	publishRange(t, s2.URL, []string{"a"}, 2, 4)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d after the restart", i), "s", messages([]string{"a"}, 0, 4), 40*time.Second)
	}
	t.Logf("%s: %d reads in 4 s with the server down; errors seen: %v", e.name, during, errs[0])
}

// scenarioRetryAfter: a 503 with Retry-After (what -5 is on .json) is
// reported, retried with a backoff, and the tab resumes after it.
func scenarioRetryAfter(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	api.Register(t, s.URL, "a")
	target, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	var failing atomic.Int32
	failing.Store(1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/channels/") {
			if failing.Load() == 1 {
				// As the server answers -5 on .json.
				w.Header().Set("Access-Control-Allow-Origin", "*")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"return_code": -5, "error_message": "Temporarily unavailable"}`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	comet := otherOrigin(t, proxy.Listener.Addr().String())
	p := e.open(t, serveModern(t, comet)+"/")
	p.eval(t, subscribeJS("s", jsonRead(comet, "a"), `{}`), nil)
	n := backsOff(t, p, "503", -5, http.StatusServiceUnavailable)
	failing.Store(0)
	api.Publish(t, s.URL, "a", "a-0")
	waitLog(t, p, "after the 503s", "s", []string{"a:a-0"}, 40*time.Second)
	var states []string
	p.eval(t, "states.s", &states)
	if strings.Join(states, ",") != "connecting,retrying,live" {
		t.Errorf("states: got %q, want connecting, retrying, live", states)
	}
	t.Logf("%s: %d reads in 4 s of 503", e.name, n)
}

// backsOff watches subscription s of p fail for 4 s: it must retry with a
// backoff (2 to 8 reads, never a tight loop) and report the failure to
// onError with the reply's code and HTTP status. It returns the reads.
func backsOff(t *testing.T, p page, what string, code, status int) int {
	t.Helper()
	time.Sleep(4 * time.Second)
	var n int
	var errs []struct {
		Status int `json:"status"`
		Code   int `json:"code"`
	}
	p.eval(t, "polls", &n)
	p.eval(t, "errs.s", &errs)
	if n < 2 || n > 8 {
		t.Errorf("4 s of %s: got %d reads, want a retry with a backoff (2 to 8)", what, n)
	}
	if len(errs) == 0 || errs[0].Status != status || errs[0].Code != code {
		t.Errorf("onError after %s: got %+v, want status %d code %d", what, errs, status, code)
	}
	return n
}

// scenarioSessionWithoutClient: a session channel read without its client
// id is -2 "No valid channels": onError, and retries with a backoff.
func scenarioSessionWithoutClient(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "private", "use_sessions", "1")
	p := e.open(t, serveModern(t, comet)+"/")
	p.eval(t, subscribeJS("s", jsonRead(comet, "private"), `{}`), nil)
	backsOff(t, p, "-2", -2, http.StatusOK)
	// With the client id the same page reads it.
	api.RegisterClient(t, s.URL, "c1")
	p.eval(t, subscribeJS("ok", jsonRead(comet, "private"), `"c1"`), nil)
	api.Publish(t, s.URL, "private", "p-0")
	waitLog(t, p, "with client id", "ok", []string{"private:p-0"}, 15*time.Second)
	if got := logOf(t, p, "s"); len(got) != 0 {
		t.Errorf("without client id: got %q, want nothing", got)
	}
}

// scenarioNoSharing: with share: false every tab polls for itself, and
// still gets everything once; the ES module build works the same.
func scenarioNoSharing(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	pages := make([]page, 3)
	for i := range pages {
		pages[i] = e.open(t, base+"/esm")
		pages[i].eval(t, subscribeJS("s", jsonRead(comet, "a"), `{share: false}`), nil)
	}
	waitHeld(t, s.URL, 3, 15*time.Second)
	publishRange(t, s.URL, []string{"a"}, 0, 3)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d", i), "s", messages([]string{"a"}, 0, 3), 15*time.Second)
	}
}

// scenarioBFCache: a page left and restored (from the back/forward cache
// or, when the browser did not keep it, loaded again) goes on with nothing
// lost or repeated.
func scenarioBFCache(t *testing.T, e engine) {
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	other := e.open(t, base+"/")
	other.eval(t, subscribeJS("s", jsonRead(comet, "a"), `{timeout: 8000}`), nil)
	p := e.open(t, base+"/"+hashFor("s", jsonRead(comet, "a"), map[string]any{"timeout": 8000}))
	publishRange(t, s.URL, []string{"a"}, 0, 2)
	waitLog(t, p, "before leaving", "s", messages([]string{"a"}, 0, 2), 15*time.Second)
	p.navigate(t, base+"/away")
	publishRange(t, s.URL, []string{"a"}, 2, 4)
	time.Sleep(500 * time.Millisecond)
	// history.back() from the page: a page restored from the bfcache
	// fires no load event for a driver to wait for.
	p.eval(t, "setTimeout(() => history.back(), 10), true", nil)
	time.Sleep(2 * time.Second)
	publishRange(t, s.URL, []string{"a"}, 4, 6)
	var restored int
	p.eval(t, "restored", &restored)
	waitLog(t, p, "after coming back", "s", messages([]string{"a"}, 0, 6), 20*time.Second)
	waitLog(t, other, "the other tab", "s", messages([]string{"a"}, 0, 6), 20*time.Second)
	if restored > 0 {
		t.Logf("%s: the page was restored from the back/forward cache", e.name)
	} else {
		t.Logf("%s: the page was not kept in the back/forward cache: it loaded again", e.name)
	}
}

func TestModernTabsShareOnePollChromium(t *testing.T) { scenarioTabsShareOnePoll(t, chromium(t)) }
func TestModernLeaderClosedChromium(t *testing.T)     { scenarioLeaderClosed(t, chromium(t)) }
func TestModernCancelChromium(t *testing.T)           { scenarioCancelEverywhere(t, chromium(t)) }
func TestModernServerRestartChromium(t *testing.T)    { scenarioServerRestart(t, chromium(t)) }
func TestModernRetryAfterChromium(t *testing.T)       { scenarioRetryAfter(t, chromium(t)) }
func TestModernSessionErrorChromium(t *testing.T)     { scenarioSessionWithoutClient(t, chromium(t)) }
func TestModernNoSharingChromium(t *testing.T)        { scenarioNoSharing(t, chromium(t)) }
func TestModernBFCacheChromium(t *testing.T)          { scenarioBFCache(t, chromium(t)) }

// TestModernFrozenLeader freezes the polling tab (Chromium's
// Page.setWebLifecycleState): a visible tab takes over within the
// documented bound (timeout + 2 s ping + 1 s check), and when the frozen
// tab wakes its late relays are ignored: both tabs have every message once.
func TestModernFrozenLeader(t *testing.T) {
	e := chromium(t)
	s := startComet(t, "--enable-status")
	comet := otherOrigin(t, s.Addr)
	api.Register(t, s.URL, "a")
	base := serveModern(t, comet)
	const timeout = 4000
	pages := make([]page, 2)
	for i := range pages {
		pages[i] = e.open(t, base+"/")
		pages[i].eval(t, subscribeJS("s", jsonRead(comet, "a"), fmt.Sprintf("{timeout: %d}", timeout)), nil)
	}
	publishRange(t, s.URL, []string{"a"}, 0, 2)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d", i), "s", messages([]string{"a"}, 0, 2), 15*time.Second)
	}
	l := leader(t, pages)
	frozen := pages[l].(*chromePage)
	follower := pages[1-l]
	// Only a visible tab takes over from a silent leader.
	if _, err := chromedp.Call(follower.(*chromePage).ctx, cdppage.BringToFront, cdp.Empty{}); err != nil {
		t.Fatalf("bringing the follower to the front: %v", err)
	}
	var vis string
	follower.eval(t, "document.visibilityState", &vis)
	// The follower also listens to the group's channel itself, to count
	// relays that come from an older leader than one already heard.
	follower.eval(t, `navigator.locks.query().then(q => {
		window.late = 0;
		let top = 0;
		new BroadcastChannel(q.held[0].name).onmessage = (e) => {
			if (e.data.t != "reply" && e.data.t != "err") return;
			if (e.data.e < top) late++;
			top = Math.max(top, e.data.e);
		};
		return true;
	})`, nil)
	if _, err := chromedp.Call(frozen.ctx, cdppage.SetWebLifecycleState, cdppage.SetWebLifecycleStateParams{State: cdppage.SetWebLifecycleStateStateFrozen}); err != nil {
		t.Fatalf("freezing the leader: %v", err)
	}
	start := time.Now()
	publishRange(t, s.URL, []string{"a"}, 2, 4)
	// The bound: timeout with no relay, 2 s for a pong, a 1 s check, and
	// the server's hold for the relay that was due (plus slack for a busy
	// machine).
	bound := timeout*time.Millisecond + 3*time.Second + hold*time.Second + 5*time.Second
	waitLog(t, follower, "the follower while the leader is frozen", "s", messages([]string{"a"}, 0, 4), bound)
	t.Logf("follower (%s) took over after %v (bound %v)", vis, time.Since(start).Round(100*time.Millisecond), bound)
	if _, err := chromedp.Call(frozen.ctx, cdppage.SetWebLifecycleState, cdppage.SetWebLifecycleStateParams{State: cdppage.SetWebLifecycleStateStateActive}); err != nil {
		t.Fatalf("waking the old leader: %v", err)
	}
	publishRange(t, s.URL, []string{"a"}, 4, 6)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d after the wake", i), "s", messages([]string{"a"}, 0, 6), 20*time.Second)
	}
	time.Sleep(hold * time.Second)
	for i, p := range pages {
		waitLog(t, p, fmt.Sprintf("tab %d later", i), "s", messages([]string{"a"}, 0, 6), time.Second)
	}
	waitHeld(t, s.URL, 1, 10*time.Second)
	var late int
	follower.eval(t, "late", &late)
	t.Logf("relays of the old leader after the new one's: %d (ignored)", late)
}
