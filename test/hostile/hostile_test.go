// Package hostile sends malformed and hostile requests to the real server
// binary and checks that each gets its clear answer, that the server keeps
// serving meanwhile, and that every message acknowledged before is still
// there afterwards.
package hostile

import (
	"bufio"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

const (
	bodyLimit      = 64 << 10
	requestTimeout = 2 * time.Second
)

// serverArgs: short timeouts so that slow clients are cut quickly, and a
// header limit large enough for a 10,000-channel read to reach the API.
var serverArgs = []string{
	"--request-timeout=2", "--http-timeout=3", "--max-header-bytes=131072",
	"--max-body-bytes=65536", "--max-channels-per-read=100",
}

// acked are the messages the server acknowledged before the attack, with
// contents chosen to be awkward themselves.
var ackedContents = []string{
	"plain", "", "</script><script>alert(1)</script>", "*/ alert(1) /*", "line\u2028sep\u2029",
	"quote \" backslash \\ slash /", "é中😀", "tab\tnew\nline", "&amp;", strings.Repeat("long ", 2000),
}

func TestHostileInput(t *testing.T) {
	s := server.Start(t, serverArgs...)
	addr := s.Addr
	rawhttp.Register(t, addr, "keep", url.Values{"max_messages": {"1000"}})
	rawhttp.Register(t, addr, "other", url.Values{"max_messages": {"1000"}})
	rawhttp.Register(t, addr, "sess", url.Values{"use_sessions": {"yes"}})
	if rep, code := rawhttp.Call(t, addr, rawhttp.Form("/clients.json", url.Values{"client_id": {"c1"}})); code != 1 {
		t.Fatalf("register client: got %d %q, want 1", code, rep.Body)
	}
	var acked []api.Message
	for _, c := range ackedContents {
		acked = append(acked, api.Message{Content: c, ID: rawhttp.Publish(t, addr, "keep", c, nil)})
	}

	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) { c.run(t, addr) })
	}
	t.Run("pipelined requests", func(t *testing.T) { pipelined(t, addr) })
	t.Run("body larger than announced", func(t *testing.T) { largerThanAnnounced(t, addr) })
	t.Run("body shorter than announced", func(t *testing.T) { shorterThanAnnounced(t, addr) })
	t.Run("slow body", func(t *testing.T) { slowBody(t, addr) })
	t.Run("slow-loris clients while others are served", func(t *testing.T) { slowLoris(t, addr) })

	// Afterwards: still serving, and nothing acknowledged was lost or added.
	select {
	case <-s.Exited():
		t.Fatalf("got the server exited, want it running\n%s", s.Log())
	default:
	}
	if rep := rawhttp.Send(t, addr, rawhttp.Request("GET", "/health", "")); rep.StatusCode != 200 {
		t.Fatalf("health after the attack: got %d, want 200", rep.StatusCode)
	}
	got := rawhttp.ReadAll(t, addr, "keep")
	if len(got) != len(acked) {
		t.Fatalf("after the attack: got %d messages in keep, want the %d acknowledged", len(got), len(acked))
	}
	for i := range acked {
		if got[i].ID != acked[i].ID || got[i].Content != acked[i].Content {
			t.Fatalf("after the attack, message %d: got id %d %.40q, want id %d %.40q", i, got[i].ID, got[i].Content, acked[i].ID, acked[i].Content)
		}
	}
	if log := s.Log(); strings.Contains(log, "panic") || strings.Contains(log, "DATA RACE") {
		t.Fatalf("got a panic or race in the server log:\n%s", log)
	}
}

func (c hostileCase) run(t *testing.T, addr string) {
	t.Helper()
	rep := rawhttp.Send(t, addr, c.raw)
	switch {
	case c.status == 0:
		if s := rep.StatusCode; s != 400 && s != 414 && s != 431 && s != 501 {
			t.Fatalf("got status %d %q, want the HTTP library's refusal (400, 414, 431 or 501)", s, rep.Body)
		}
	case rep.StatusCode != c.status:
		t.Fatalf("got status %d %q, want %d", rep.StatusCode, rep.Body, c.status)
	}
	if c.code != 0 {
		code, ok := rep.Code()
		if !ok || code != c.code {
			t.Fatalf("got body %q, want return_code %d", rep.Body, c.code)
		}
	}
	if c.has != "" && !strings.Contains(string(rep.Body), c.has) {
		t.Fatalf("got body %q, want it to contain %q", rep.Body, c.has)
	}
	if rep.StatusCode < 400 || rep.Header.Get("Content-Type") == "application/json" {
		if got := rep.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Fatalf("got X-Content-Type-Options %q, want nosniff", got)
		}
	}
	if c.check != nil {
		c.check(t, rep)
	}
}

// pipelined sends three requests in one write and reads three replies, in
// order.
func pipelined(t *testing.T, addr string) {
	conn := rawhttp.Dial(t, addr)
	defer conn.Close()
	reqs := rawhttp.Form("/channels/other.json", url.Values{"content": {"piped"}}) +
		rawhttp.Request("GET", "/channels/keep.json?since=0", "") +
		rawhttp.Request("GET", "/nowhere", "")
	if _, err := io.WriteString(conn, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, want := range []struct{ status, code int }{{200, 1}, {200, 1}, {404, -1}} {
		rep, err := rawhttp.Read(br, "GET")
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		code, _ := rep.Code()
		if rep.StatusCode != want.status || code != want.code {
			t.Fatalf("reply %d: got %d %q, want status %d return_code %d", i, rep.StatusCode, rep.Body, want.status, want.code)
		}
	}
}

// largerThanAnnounced: what follows the announced length is read as the
// next request, which is garbage.
func largerThanAnnounced(t *testing.T, addr string) {
	conn := rawhttp.Dial(t, addr)
	defer conn.Close()
	body := "content=lie"
	raw := "POST /channels/other.json HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\n" + body + "&more=GARBAGE\r\n\r\n"
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	rep, err := rawhttp.Read(br, "POST")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := rep.Code(); rep.StatusCode != 200 || code != 1 {
		t.Fatalf("first reply: got %d %q, want 200 with return_code 1", rep.StatusCode, rep.Body)
	}
	rep, err = rawhttp.Read(br, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if rep.StatusCode != 400 {
		t.Fatalf("the excess as a request: got %d %q, want 400", rep.StatusCode, rep.Body)
	}
}

// shorterThanAnnounced: the client stops sending and half-closes.
func shorterThanAnnounced(t *testing.T, addr string) {
	conn := rawhttp.Dial(t, addr)
	defer conn.Close()
	raw := "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncontent=short"
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	rep, err := rawhttp.Read(bufio.NewReader(conn), "POST")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := rep.Code(); rep.StatusCode != 200 || code != -1 {
		t.Fatalf("got %d %q, want 200 with return_code -1", rep.StatusCode, rep.Body)
	}
}

// slowBody: a body that stops arriving is answered 408 (plain text, no
// return code) once the request timeout has passed, and the connection is
// closed (PROTOCOL.md, "Requests that do not arrive").
func slowBody(t *testing.T, addr string) {
	conn := rawhttp.Dial(t, addr)
	defer conn.Close()
	raw := "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncontent=sl"
	start := time.Now()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	rep, err := rawhttp.Read(br, "POST")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Code(); rep.StatusCode != 408 || ok || !rep.Close {
		t.Fatalf("got %d %q close=%v, want 408 without a return code and Connection: close", rep.StatusCode, rep.Body, rep.Close)
	}
	if d := time.Since(start); d < requestTimeout/2 {
		t.Fatalf("got the answer after %v, want it only once the body stopped for about %v", d, requestTimeout)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("got more bytes after the answer, want the connection closed")
	}
}

// slowLoris opens connections that send their headers a byte at a time;
// the server closes each within the request timeout, and serves a normal
// client meanwhile.
func slowLoris(t *testing.T, addr string) {
	const n = 20
	var wg sync.WaitGroup
	closed := make(chan time.Duration, n)
	for range n {
		conn := rawhttp.Dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			start := time.Now()
			head := "GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: "
			if _, err := io.WriteString(conn, head); err != nil {
				closed <- time.Since(start)
				return
			}
			buf := make([]byte, 1)
			for time.Since(start) < 15*time.Second {
				if _, err := conn.Write([]byte("a")); err != nil {
					break
				}
				_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := conn.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
					break // closed by the server
				}
			}
			closed <- time.Since(start)
		}()
	}
	// Meanwhile, a normal client is served.
	for i := 0; i < 5; i++ {
		if _, code := rawhttp.Call(t, addr, rawhttp.Request("GET", "/channels/keep.json?since=0", "")); code != 1 {
			t.Fatalf("a read during the slow-loris attack: got return_code %d, want 1", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	close(closed)
	for d := range closed {
		if d > requestTimeout+5*time.Second {
			t.Fatalf("got a slow client kept for %v, want it closed within about %v", d, requestTimeout)
		}
	}
}
