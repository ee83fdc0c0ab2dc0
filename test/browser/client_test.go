package browser

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/browser"
)

// wait bounds every wait for the page: generous, as the machine is shared.
const wait = 20 * time.Second

// TestServedClientIsTheMinifiedFile makes sure the pages below run the
// committed minified client, byte for byte.
func TestServedClientIsTheMinifiedFile(t *testing.T) {
	s := startComet(t)
	got := api.Get(t, s.URL, "/simple-comet.min.js").Body
	if !bytes.Equal(got, client.Minified) {
		t.Fatalf("served /simple-comet.min.js: got %d bytes, want the %d of client/simple-comet.min.js", len(got), len(client.Minified))
	}
}

// crossOriginFlow: a page on 127.0.0.1 subscribes, while it is still being
// parsed, to two channels of the server on localhost in one subscription,
// and receives the messages of both in publish order, non-ASCII intact.
func crossOriginFlow(t *testing.T, mobile bool) {
	s := startComet(t)
	api.Register(t, s.URL, "news")
	api.Register(t, s.URL, "chat")
	tab := browser.Start(t)
	if mobile {
		if err := chromedp.Do(tab, chromedp.Emulate(device.Pixel2)); err != nil {
			t.Fatal(err)
		}
	}
	comet := otherOrigin(t, s.Addr)
	openHarness(t, tab, comet, readURL(comet, "news", "chat"))
	if mobile {
		ua := eval[string](t, tab, "navigator.userAgent")
		width := eval[int](t, tab, "window.innerWidth")
		if !strings.Contains(ua, "Mobile") || width > 500 {
			t.Fatalf("emulation: got user agent %q and width %d, want a mobile one and <= 500", ua, width)
		}
	}
	if origin := eval[string](t, tab, "location.protocol + '//' + location.host"); origin == comet {
		t.Fatalf("page origin: got %s, want another origin than the server's", origin)
	}

	var want []string
	for i := 1; i <= 3; i++ {
		for _, ch := range []string{"news", "chat"} {
			content := fmt.Sprintf("%s %d: héllo € ✓", ch, i)
			api.Publish(t, s.URL, ch, content)
			want = append(want, ch+":"+content)
		}
		if i == 1 {
			// Let the first ones arrive alone, the others in held polls.
			waitFor(t, tab, "logs.early", jsonOf(want), wait)
		}
	}
	waitFor(t, tab, "logs.early", jsonOf(want), wait)
	ids := eval[[]int64](t, tab, "ids.early")
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("message ids: got %v, want strictly increasing", ids)
		}
	}
	// Several polls later, no script node or callback of a finished
	// request is left: only the one poll in flight.
	time.Sleep(time.Duration(hold)*time.Second + 500*time.Millisecond)
	if got := eval[[]int](t, tab, "jsonpGlobals()"); got[1] > 1 {
		t.Errorf("JSON-P callbacks on window [waiting, total]: got %v, want at most one", got)
	}
	if got := eval[int](t, tab, "jsonpScripts()"); got > 1 {
		t.Errorf("JSON-P script nodes: got %d, want at most one", got)
	}
	noErrors(t, tab)
}

func TestCrossOriginTwoChannels(t *testing.T) { crossOriginFlow(t, false) }

// TestMobile runs the same flow as a phone: small viewport, touch, mobile
// user agent.
func TestMobile(t *testing.T) { crossOriginFlow(t, true) }

// TestTwoSubscriptions: two subscriptions on one page, each to its own
// channel, each get their own messages, and every request has a callback
// name of its own.
func TestTwoSubscriptions(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "left")
	api.Register(t, s.URL, "right")
	p := newCountingProxy(t, s.URL)
	tab := browser.Start(t)
	openHarness(t, tab, p.URL, "")
	eval[bool](t, tab, "sub('l', "+js(readURL(p.URL, "left"))+") && sub('r', "+js(readURL(p.URL, "right"))+")")

	var left, right []string
	for i := 1; i <= 4; i++ {
		l, r := "left:l"+strconv.Itoa(i), "right:r"+strconv.Itoa(i)
		api.Publish(t, s.URL, "left", "l"+strconv.Itoa(i))
		api.Publish(t, s.URL, "right", "r"+strconv.Itoa(i))
		left, right = append(left, l), append(right, r)
		if i%2 == 0 {
			waitFor(t, tab, "[logs.l, logs.r]", jsonOf([][]string{left, right}), wait)
		}
	}
	names := map[string]bool{}
	for _, q := range p.Reads() {
		cb := q.Get("cb")
		if len(cb) < 8 || cb[:7] != "_JSONP_" || names[cb] {
			t.Fatalf("callback names: got %q again or malformed, want a new _JSONP_ name per request", cb)
		}
		names[cb] = true
	}
	noErrors(t, tab)
}

// TestSessionChannel: a session channel is read with a registered
// client_id; a subscription without one gets only the public channel.
func TestSessionChannel(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "private", "use_sessions", "1")
	api.Register(t, s.URL, "public")
	api.RegisterClient(t, s.URL, "alice")
	tab := browser.Start(t)
	comet := otherOrigin(t, s.Addr)
	openHarness(t, tab, comet, "")
	eval[bool](t, tab, "sub('alice', "+js(readURL(comet, "private", "public"))+", 'alice') && sub('anon', "+js(readURL(comet, "private", "public"))+")")
	api.Publish(t, s.URL, "private", "for alice")
	api.Publish(t, s.URL, "public", "for all")
	waitFor(t, tab, "[logs.alice, logs.anon]", jsonOf([][]string{
		{"private:for alice", "public:for all"},
		{"public:for all"},
	}), wait)
	noErrors(t, tab)
}

// TestServerRestart: the server stops and starts again on the same port;
// the page resumes by itself, and gets the messages published after the
// restart, once each.
func TestServerRestart(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "feed")
	tab := browser.Start(t)
	comet := otherOrigin(t, s.Addr)
	openHarness(t, tab, comet, "")
	eval[bool](t, tab, "sub('feed', "+js(readURL(comet, "feed"))+")")
	api.Publish(t, s.URL, "feed", "before")
	waitFor(t, tab, "logs.feed", jsonOf([]string{"feed:before"}), wait)

	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: got %v, want a clean exit", err)
	}
	// Down long enough for the client to fail a few polls.
	time.Sleep(1500 * time.Millisecond)
	s2 := startComet(t, "--http-port="+port(t, s.Addr))
	// The memory engine forgot the channel: register it again, and publish
	// at once, before the client is back.
	api.Register(t, s2.URL, "feed")
	api.Publish(t, s2.URL, "feed", "after 1")
	api.Publish(t, s2.URL, "feed", "after 2")
	want := []string{"feed:before", "feed:after 1", "feed:after 2"}
	waitFor(t, tab, "logs.feed", jsonOf(want), 2*wait)
	api.Publish(t, s2.URL, "feed", "after 3")
	want = append(want, "feed:after 3")
	waitFor(t, tab, "logs.feed", jsonOf(want), wait)
	// Nothing more arrives: no duplicate.
	time.Sleep(time.Duration(hold)*time.Second + 500*time.Millisecond)
	waitFor(t, tab, "logs.feed", jsonOf(want), wait)
	noErrors(t, tab)
}

// TestCancel: after cancel() the server sees no further request, the
// callback is not called again, and a late answer to the poll that was in
// flight throws nothing.
func TestCancel(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "c")
	p := newCountingProxy(t, s.URL)
	tab := browser.Start(t)
	openHarness(t, tab, p.URL, "")
	eval[bool](t, tab, "sub('c', "+js(readURL(p.URL, "c"))+")")
	api.Publish(t, s.URL, "c", "one")
	waitFor(t, tab, "logs.c", jsonOf([]string{"c:one"}), wait)
	p.waitReads(t, 2, wait) // the next poll is held

	eval[bool](t, tab, "subs.c.cancel() || true")
	time.Sleep(500 * time.Millisecond) // a request sent before cancel() reaches the proxy
	n := len(p.Reads())
	// Answer the poll that was in flight, then give a would-be poller
	// several hold periods.
	api.Publish(t, s.URL, "c", "two")
	time.Sleep(time.Duration(3*hold)*time.Second + 500*time.Millisecond)
	if got := len(p.Reads()); got != n {
		t.Fatalf("reads after cancel(): got %d, want %d (none after cancel)", got, n)
	}
	waitFor(t, tab, "logs.c", jsonOf([]string{"c:one"}), wait)
	waitFor(t, tab, "jsonpScripts()", "0", wait)
	if got := eval[[]int](t, tab, "jsonpGlobals()"); got[0] != 0 || got[1] > 1 {
		t.Errorf("JSON-P callbacks on window [waiting, total]: got %v, want [0, <=1] (a no-op for the cancelled poll)", got)
	}
	noErrors(t, tab)
}

// TestHungRequest: a poll that never comes back is abandoned after
// SimpleComet.timeout and polled again; when the hung one finally answers,
// nothing throws and nothing is delivered twice.
func TestHungRequest(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "h")
	p := newCountingProxy(t, s.URL)
	tab := browser.Start(t)
	openHarness(t, tab, p.URL, "")
	p.Hold()
	eval[bool](t, tab, "(SimpleComet.timeout = 4000) && sub('h', "+js(readURL(p.URL, "h"))+")")
	p.waitReads(t, 1, wait)
	api.Publish(t, s.URL, "h", "m1")
	// The watchdog gives up on the first poll and sends another.
	p.waitReads(t, 2, wait)
	p.Release() // both go through: the first one late
	waitFor(t, tab, "logs.h", jsonOf([]string{"h:m1"}), wait)
	// The abandoned poll was answered too, and its script ran into the
	// no-op the client left for it.
	first := p.Reads()[0].Get("cb")
	deadline := time.Now().Add(wait)
	for !slices.Contains(p.Answered(), first) {
		if time.Now().After(deadline) {
			t.Fatalf("answered reads: got %q, want the abandoned %s among them", p.Answered(), first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	api.Publish(t, s.URL, "h", "m2")
	waitFor(t, tab, "logs.h", jsonOf([]string{"h:m1", "h:m2"}), wait)
	time.Sleep(time.Duration(hold)*time.Second + 500*time.Millisecond)
	waitFor(t, tab, "logs.h", jsonOf([]string{"h:m1", "h:m2"}), wait)
	noErrors(t, tab)
}

// TestErrorRepliesBackOff: a subscription that only gets error replies
// (return_code < 0: no such channel yet) retries with a growing delay,
// never in a tight loop, and recovers once the channel exists.
func TestErrorRepliesBackOff(t *testing.T) {
	s := startComet(t)
	p := newCountingProxy(t, s.URL)
	tab := browser.Start(t)
	openHarness(t, tab, p.URL, "")
	eval[bool](t, tab, "sub('late', "+js(readURL(p.URL, "late"))+")")
	time.Sleep(6 * time.Second)
	// With the backoff (0.5-1 s, then doubling) about 4 polls fit in 6 s; a
	// client without one would have sent hundreds.
	if got := len(p.Reads()); got < 2 || got > 8 {
		t.Fatalf("reads in 6 s of error replies: got %d, want 2..8", got)
	}
	if got := eval[int](t, tab, "replies.late"); got != 0 {
		t.Fatalf("callback calls for error replies: got %d, want 0", got)
	}
	api.Register(t, s.URL, "late")
	api.Publish(t, s.URL, "late", "finally")
	waitFor(t, tab, "logs.late", jsonOf([]string{"late:finally"}), 2*wait)
	noErrors(t, tab)
}

// TestDeferredUntilBody: subscribing while the document has neither head
// nor body sends nothing until one appears, then polls.
func TestDeferredUntilBody(t *testing.T) {
	s := startComet(t)
	api.Register(t, s.URL, "d")
	p := newCountingProxy(t, s.URL)
	tab := browser.Start(t)
	openHarness(t, tab, p.URL, "")
	eval[bool](t, tab, `(function () {
		var html = document.documentElement;
		window.savedBody = html.removeChild(document.body);
		html.removeChild(document.getElementsByTagName("head")[0]);
		return !document.body && !document.getElementsByTagName("head")[0];
	})() && sub('d', `+js(readURL(p.URL, "d"))+`)`)
	time.Sleep(time.Second)
	if got := len(p.Reads()); got != 0 {
		t.Fatalf("reads without head or body: got %d, want 0", got)
	}
	eval[bool](t, tab, "!!document.documentElement.appendChild(savedBody)")
	api.Publish(t, s.URL, "d", "now")
	waitFor(t, tab, "logs.d", jsonOf([]string{"d:now"}), wait)
	noErrors(t, tab)
}
