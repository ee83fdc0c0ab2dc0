package bidi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestFirefoxEvaluatesInTwoTabs starts Firefox, loads a page in two tabs
// and reads a value from each.
func TestFirefoxEvaluatesInTwoTabs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!DOCTYPE html><title>t</title><script>var x = location.hash.slice(1) * 2;</script>`))
	}))
	defer srv.Close()
	b := Start(t)
	other := b.Tab(t)
	for i, tab := range []*Tab{b.First, other} {
		tab.Navigate(t, srv.URL+"/#"+string(rune('1'+i)))
		var got int
		tab.Eval(t, "x", &got)
		if want := 2 * (i + 1); got != want {
			t.Errorf("tab %d: got x = %d, want %d", i, got, want)
		}
	}
	var p int
	other.Eval(t, "new Promise(r => setTimeout(() => r(7), 10))", &p)
	if p != 7 {
		t.Errorf("awaited promise: got %d, want 7", p)
	}
	other.Close(t)
}
