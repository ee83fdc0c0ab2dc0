package integration

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// Requests that do not arrive (PROTOCOL.md): a request begun but not
// complete within --request-timeout is answered 408 with Connection:
// close, then the connection is closed; an idle connection is closed
// without a word; nothing of an incomplete request is stored.

// timeoutArgs give a short request timeout and a longer idle time, so
// that the two cannot be mistaken for each other.
var timeoutArgs = []string{"--request-timeout=0.5", "--http-timeout=2"}

// rawConn dials s and sends raw, with a deadline for the whole exchange.
func rawConn(t *testing.T, addr, raw string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if raw != "" {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
	}
	return c, bufio.NewReader(c)
}

// want408 reads a 408 with Connection: close in plain text, then the end
// of the connection, and reports how long the 408 took.
func want408(t *testing.T, br *bufio.Reader, sent time.Time) time.Duration {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("got %v, want a 408", err)
	}
	took := time.Since(sent)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.Contains(string(body), "return_code") {
		t.Fatalf("got %d close=%v %q %q, want 408 with Connection: close, plain text, no return code",
			resp.StatusCode, resp.Close, resp.Header.Get("Content-Type"), body)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Fatalf("after the 408: got %q, %v, want the connection closed", rest, err)
	}
	return took
}

// wantSilentClose reads the end of the connection with nothing before it.
func wantSilentClose(t *testing.T, br *bufio.Reader) {
	t.Helper()
	rest, err := io.ReadAll(br)
	if len(rest) > 0 {
		t.Fatalf("got %q, want the connection closed without a word", rest)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection stayed open, want it closed")
	}
}

func TestRequestTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, timeoutArgs...)
		api.Register(t, s.URL, "late")
		t.Run("head", func(t *testing.T) {
			sent := time.Now()
			_, br := rawConn(t, s.Addr, "GET /channels/late.json?since=0 HTTP/1.1\r\nHost: x\r\n")
			if took := want408(t, br, sent); took < 400*time.Millisecond {
				t.Errorf("the 408 came after %v, want it after the request timeout (0.5s)", took)
			}
		})
		t.Run("request line", func(t *testing.T) {
			_, br := rawConn(t, s.Addr, "G")
			want408(t, br, time.Now())
		})
		t.Run("body", func(t *testing.T) {
			// Twenty bytes announced, eleven sent: never answered as a
			// publish, and nothing stored.
			_, br := rawConn(t, s.Addr, "POST /channels/late.json HTTP/1.1\r\nHost: x\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\ncontent=abc")
			want408(t, br, time.Now())
			if rr := api.ReadNow(t, s.URL, []string{"late"}, "since=0"); len(rr.Messages["late"]) != 0 {
				t.Errorf("after a publish whose body did not arrive: got %v, want nothing stored", rr.Messages)
			}
		})
		t.Run("after a kept-alive reply", func(t *testing.T) {
			// A reply, then the first bytes of a next request that never
			// completes: 408.
			c, br := rawConn(t, s.Addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if _, err := io.WriteString(c, "GET /health HT"); err != nil {
				t.Fatal(err)
			}
			want408(t, br, time.Now())
		})
	})
}

func TestIdleConnectionClosedSilently(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, timeoutArgs...)
		t.Run("after a reply", func(t *testing.T) {
			_, br := rawConn(t, s.Addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			since := time.Now()
			wantSilentClose(t, br)
			// Not at the request timeout: at the idle time (2s).
			if took := time.Since(since); took < 1500*time.Millisecond {
				t.Errorf("an idle kept-alive connection was closed after %v, want about --http-timeout (2s)", took)
			}
		})
		t.Run("nothing sent", func(t *testing.T) {
			_, br := rawConn(t, s.Addr, "")
			wantSilentClose(t, br)
		})
	})
}
