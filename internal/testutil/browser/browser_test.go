package browser

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartRunsScripts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!DOCTYPE html><title>t</title><script>document.title = "ran " + (6 * 7);</script>`))
	}))
	defer srv.Close()
	tab := Start(t)
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(tab, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "ran 42" {
		t.Fatalf("got title %q, want %q", title, "ran 42")
	}
	second := Tab(t, tab)
	if err := chromedp.Do(second, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if title, err = chromedp.Run(second, chromedp.Title()); err != nil {
		t.Fatal(err)
	}
	if title != "ran 42" {
		t.Fatalf("second tab: got title %q, want %q", title, "ran 42")
	}
}
