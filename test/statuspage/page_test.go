package statuspage

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/browser"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// text is the text of the element with the given id.
func text(t testing.TB, ctx context.Context, id string) string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("`+id+`").textContent`))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return got
}

// waitText waits (bounded) until the text of element id is want.
func waitText(t testing.TB, ctx context.Context, id, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = text(t, ctx, id)
		if got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("#%s: got %q, want %q (waited 20s)", id, got, want)
}

func TestStatusPageShowsCountsChanging(t *testing.T) {
	const secret = "page-s3cret"
	s := server.Start(t, "--enable-status", "--secret="+secret)

	// Without the secret the page is not served.
	b := api.Get(t, s.URL, "/status.html").Body
	if strings.Contains(string(b), "<html") || !strings.Contains(string(b), `"return_code":-4`) {
		t.Fatalf("/status.html without the secret: got %.200s, want return_code -4 and no page", b)
	}

	ctx := browser.Start(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/status.html?secret="+secret)); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	// The first snapshot is published at start: an empty server.
	waitText(t, ctx, "channels", "0")
	waitText(t, ctx, "clients", "0")
	waitText(t, ctx, "published", "0")

	auth := url.Values{"secret": {secret}}
	for _, c := range []string{"alpha", "beta", "gamma"} {
		api.Register(t, s.URL, c, "secret", secret)
	}
	api.RegisterClient(t, s.URL, "c1", "secret", secret)
	for range 7 {
		api.Post(t, s.URL, "/channels/alpha.json?"+auth.Encode(), url.Values{"content": {"hello"}}).WantCode(t, 1)
	}
	waitText(t, ctx, "channels", "3")
	waitText(t, ctx, "clients", "1")
	waitText(t, ctx, "published", "7")

	// The page's own long-poll of $status is held between snapshots.
	if held := text(t, ctx, "heldnodes"); held != "on this node" {
		t.Errorf("#heldnodes: got %q, want %q", held, "on this node")
	}
	// The publish chart was drawn: its canvas has coloured pixels.
	var drawn bool
	js := `(function(){var c=document.getElementById("pubchart"),d=c.getContext("2d").getImageData(0,0,c.width,c.height).data;
	  for(var i=0;i<d.length;i+=4){if(d[i+2]>200&&d[i]<100&&d[i+3]>0)return true}return false})()`
	deadline := time.Now().Add(15 * time.Second)
	for !drawn && time.Now().Before(deadline) {
		var err error
		if drawn, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !drawn {
		t.Errorf("publish chart: got no line pixels, want the rate drawn")
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.Log())
	}
}
