package h1

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// timeoutServer serves h through a TimeoutListener on loopback, with a
// request timeout of 200 ms and an idle time of 600 ms.
func timeoutServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(TimeoutListener(l)) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

// exchangeRaw sends raw and returns all the server sends until it closes.
func exchangeRaw(t *testing.T, addr, raw string, pause time.Duration, more string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if more != "" {
		time.Sleep(pause)
		_, _ = io.WriteString(c, more)
	}
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("after %q: the connection stayed open (got %q)", raw, b)
	}
	return string(b)
}

func TestTimeoutListener(t *testing.T) {
	late := make(chan error, 1)
	addr := timeoutServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/body":
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err := io.ReadAll(r.Body)
			late <- err
			_, _ = io.WriteString(w, "answered as if whole") // must not reach the client
		case "/hijack":
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.WriteString(c, "hijacked")
			c.Close()
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	is408 := func(got string) bool {
		return strings.HasPrefix(got, "HTTP/1.1 408 Request Timeout\r\n") && strings.Contains(got, "\r\nConnection: close\r\n") &&
			strings.HasSuffix(got, "\r\n\r\n"+TimeoutBody)
	}
	if got := exchangeRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n", 0, ""); !is408(got) {
		t.Errorf("an unfinished head: got %q, want the 408 alone", got)
	}
	if got := exchangeRaw(t, addr, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 0, ""); !is408(got) {
		t.Errorf("an unfinished body: got %q, want the 408 alone", got)
	}
	if err := <-late; err == nil {
		t.Error("the handler read the unfinished body without an error")
	}
	// A reply, then nothing: closed without a word at the idle time.
	got := exchangeRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, "")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\nok") {
		t.Errorf("an idle kept-alive connection: got %q, want the one reply, then the end", got)
	}
	// A reply, then the start of another request: 408.
	got = exchangeRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 50*time.Millisecond, "GET / HT")
	if i := strings.Index(got, "HTTP/1.1 408"); !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || i < 0 || !is408(got[i:]) {
		t.Errorf("a reply, then an unfinished request: got %q, want the reply, then the 408", got)
	}
	// net/http stops its own read to hijack: that is no timeout.
	if got := exchangeRaw(t, addr, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""); got != "hijacked" {
		t.Errorf("a hijacked connection: got %q, want what the handler wrote", got)
	}
	// Nothing sent at all: closed without a word.
	if got := exchangeRaw(t, addr, "", 0, ""); got != "" {
		t.Errorf("a connection that sent nothing: got %q, want nothing", got)
	}
}
