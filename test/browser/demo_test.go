package browser

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/browser"
)

// screenshots is set by `make screenshots`: TestDemo then writes
// docs/demo.png. The normal test run leaves docs/ alone.
var screenshots = flag.Bool("screenshots", false, "write docs/demo.png from TestDemo")

// TestDemo: with --enable-demo, two visitors of /demo/ (the modern client,
// the two tabs sharing one poll) chat through the server; what one sends
// shows up for the other, and both see who joined.
func TestDemo(t *testing.T) { demoChat(t, "/demo/") }

// TestDemoLegacy: the same chat on the legacy client's page.
func TestDemoLegacy(t *testing.T) { demoChat(t, "/demo/legacy.html") }

func demoChat(t *testing.T, path string) {
	s := startComet(t, "--enable-demo")
	alice := browser.Start(t)
	bob := browser.Tab(t, alice)
	open := func(tab context.Context, name string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.EmulateViewport(960, 560),
			chromedp.Navigate(s.URL+path+"#"+name),
		); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tab, `document.getElementById("status").textContent.indexOf("connected") == 0`, "true", wait)
		// The legacy client is the one with a timeout property.
		waitFor(t, tab, `typeof SimpleComet.timeout == "number"`, jsonOf(strings.HasSuffix(path, "legacy.html")), wait)
	}
	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.ID("text"), text),
			chromedp.Click(chromedp.CSS("#say button")),
		); err != nil {
			t.Fatal(err)
		}
	}
	const chat = `(function () {
		var li = document.getElementById("chat").getElementsByTagName("li"), out = [], i;
		for (i = 0; i < li.length; i++) out.push(li[i].getElementsByClassName("who")[0].textContent + ": " + li[i].lastChild.nodeValue);
		return out;
	})()`
	open(alice, "alice")
	open(bob, "bob")
	say(alice, "Hi Bob, this arrived by long polling.")
	say(bob, "Hello Alice! Both channels, one subscription.")
	say(alice, "And under 1 KB of JavaScript.")
	want := jsonOf([]string{
		"alice: Hi Bob, this arrived by long polling.",
		"bob: Hello Alice! Both channels, one subscription.",
		"alice: And under 1 KB of JavaScript.",
	})
	waitFor(t, bob, chat, want, wait)
	waitFor(t, alice, chat, want, wait)
	waitFor(t, alice, `document.getElementById("events").textContent.indexOf("bob joined") >= 0`, "true", wait)

	if *screenshots && path == "/demo/" {
		png, err := chromedp.Run(alice, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("..", "..", "docs", "demo.png")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(png))
	}
}

// TestDemoOffByDefault: without --enable-demo there is no demo page.
func TestDemoOffByDefault(t *testing.T) {
	s := startComet(t)
	if st := api.Get(t, s.URL, "/demo/").Status; st != http.StatusNotFound {
		t.Fatalf("GET /demo/ without --enable-demo: got %d, want 404", st)
	}
}
