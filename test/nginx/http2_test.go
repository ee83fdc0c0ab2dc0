//go:build unix

package nginx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/browser"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// TestHTTP2 reads through the HTTPS + HTTP/2 server of deploy/nginx.conf:
// the reply is HTTP/2, and a held poll is answered by a publish.
func TestHTTP2(t *testing.T) {
	node := server.Start(t, "--enable-status", "--http-timeout="+strconv.Itoa(int(hold/time.Second)))
	front := startNginx(t, node.Addr)
	c := tlsClient(t, front)
	api.Register(t, node.URL, "news")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := c.Get(front.TLSURL + "/channels/news.json?since=" + strconv.FormatInt(time.Now().UnixNano()/10000, 10))
		if err != nil {
			t.Errorf("GET over HTTPS: %v", err)
		}
		done <- resp
	}()
	waitHeld(t, []*server.Server{node}, 1)
	api.Publish(t, node.URL, "news", "over h2")
	resp := <-done
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 {
		t.Errorf("read through nginx over TLS: got %s, want HTTP/2", resp.Proto)
	}
	var r struct {
		Messages map[string][]struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Messages["news"]) != 1 || r.Messages["news"][0].Content != "over h2" {
		t.Errorf("held read over h2: got %s (%v), want the message", body, err)
	}
}

// TestHTTP2Browser loads the modern client in Chromium from the HTTPS +
// HTTP/2 front end (the test's own certificate, errors ignored) with eight
// tabs that do not share: over HTTP/2 they are eight streams of one
// connection, so the server holds eight polls, all get the message, and a
// further request of a tab is served at once (over HTTP/1.1 the seventh
// would wait for a connection).
func TestHTTP2Browser(t *testing.T) {
	node := server.Start(t, "--enable-status", "--http-timeout=20")
	front := startNginx(t, node.Addr)
	api.Register(t, node.URL, "news")
	root := browser.Start(t)
	if _, err := chromedp.CallBrowser(root, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatalf("ignoring certificate errors: %v", err)
	}
	tabs := make([]context.Context, 8)
	for i := range tabs {
		tabs[i] = browser.Tab(t, root)
		if err := chromedp.Do(tabs[i], chromedp.Navigate(front.TLSURL+"/health")); err != nil {
			t.Fatalf("tab %d: opening %s/health: %v", i, front.TLSURL, err)
		}
		proto := eval[string](t, tabs[i], `performance.getEntriesByType("navigation")[0].nextHopProtocol`)
		if proto != "h2" {
			t.Fatalf("tab %d: got protocol %q, want h2", i, proto)
		}
		eval[bool](t, tabs[i], `import("/simple-comet.mjs").then((m) => {
			window.log = [];
			m.subscribe("/channels/news.json", (r) => (r.messages.news || []).forEach((x) => log.push(x.content)), {share: false, timeout: 30000});
			return true;
		})`)
	}
	waitHeld(t, []*server.Server{node}, 8)
	start := time.Now()
	if got := eval[int](t, tabs[0], `fetch("/health", {cache: "no-store"}).then((r) => r.status)`); got != 200 {
		t.Errorf("a ninth request: got %d, want 200", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a ninth request with eight polls held: answered after %v, want at once", d)
	}
	api.Publish(t, node.URL, "news", "to every tab")
	for i, tab := range tabs {
		api.Eventually(t, fmt.Sprintf("tab %d has the message", i), 10*time.Second, func() bool {
			return eval[string](t, tab, "JSON.stringify(log)") == `["to every tab"]`
		})
	}
}

// eval evaluates expr in tab, awaiting a promise, and returns its value.
func eval[T any](t testing.TB, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}
