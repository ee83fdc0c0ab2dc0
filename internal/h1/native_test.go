package h1

import (
	"net"
	"net/http"
	"testing"

	"github.com/simple-comet/simple-comet/internal/parking"
)

// A handler that panics under Native loses its connection, not the
// server, as under net/http.
func TestNativeRecoversPanics(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	req := []byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    parking.Outcome
	}{
		{"panic", func(http.ResponseWriter, *http.Request) { panic("boom") }, parking.Outcome{Close: true}},
		{"abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, parking.Outcome{Close: true}},
		{"panic after hijack", func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := w.(http.Hijacker).Hijack(); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		}, parking.Outcome{Parked: true}},
	} {
		n := &Native{Handler: tc.handler}
		got := n.Serve(a, req)
		if got.Close != tc.want.Close || got.Parked != tc.want.Parked || got.HandOff || got.Resp != nil {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// The next request is served normally.
	n := &Native{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })}
	if got := n.Serve(a, req); got.Close || len(got.Resp) == 0 {
		t.Errorf("after the panics: got %+v, want a response", got)
	}
}
