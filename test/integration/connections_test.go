package integration

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// Connection handling around held polls, as an outside client sees it: the
// server parks held polls' connections and hands them back to net/http, so
// keep-alive, pipelining, HTTP/1.0 and Connection: close must all still
// behave as HTTP says.

const farSince = "9000000000000000000"

// readOne reads one reply from br, failing the test on an error.
func readOne(t *testing.T, br *bufio.Reader, method string) *rawhttp.Reply {
	t.Helper()
	rep, err := rawhttp.Read(br, method)
	if err != nil {
		t.Fatalf("reading a %s reply: %v", method, err)
	}
	return rep
}

// readReplyOf decodes a raw read reply and checks its return_code.
func readReplyOf(t *testing.T, rep *rawhttp.Reply) api.ReadReply {
	t.Helper()
	var rr api.ReadReply
	rep.Decode(t, &rr)
	if rep.StatusCode != 200 || rr.ReturnCode != 1 {
		t.Fatalf("read: got %d %q, want 200 and return_code 1", rep.StatusCode, rep.Body)
	}
	return rr
}

// waitHeld waits until the server holds exactly one poll.
func waitHeld(t *testing.T, s *server.Server) {
	t.Helper()
	api.Eventually(t, "the poll is held", holdBound, func() bool { return api.Held(t, s.URL) == 1 })
}

// wantEOF checks that the server closes the connection (nothing more comes).
func wantEOF(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := br.ReadByte()
	if err == nil {
		t.Fatalf("got byte %q after the reply, want the connection closed", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("got the connection still open 10s after the reply, want it closed")
	}
}

func TestConnectionsAroundHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--http-timeout=4", "--inactive-channel-timeout=0", "--enable-status")
		api.Register(t, s.URL, "a")
		api.Register(t, s.URL, "b")

		t.Run("pipelined requests behind a held poll are answered after it, in order", func(t *testing.T) {
			c := rawhttp.Dial(t, s.Addr)
			defer c.Close()
			br := bufio.NewReader(c)
			// The poll and a request behind it arrive together...
			first := rawhttp.Request("GET", "/channels/a.json?since="+farSince, "") + rawhttp.Request("GET", "/health", "")
			if _, err := io.WriteString(c, first); err != nil {
				t.Fatal(err)
			}
			waitHeld(t, s)
			// ...and another arrives while the poll is held.
			if _, err := io.WriteString(c, rawhttp.Form("/channels/b.json", url.Values{"content": {"piped"}})); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			id := api.Publish(t, s.URL, "a", "wake")
			rr := readReplyOf(t, readOne(t, br, "GET"))
			if got := rr.Messages["a"]; len(got) != 1 || got[0].ID != id || got[0].Content != "wake" {
				t.Fatalf("held poll: got %+v, want the message %d", rr.Messages, id)
			}
			if rep := readOne(t, br, "GET"); rep.StatusCode != 200 || !strings.Contains(string(rep.Body), `"ok":true`) {
				t.Fatalf("pipelined /health: got %d %q, want 200 {\"ok\":true}", rep.StatusCode, rep.Body)
			}
			if rep := readOne(t, br, "POST"); rep.StatusCode != 200 {
				t.Fatalf("pipelined publish: got %d %q, want 200", rep.StatusCode, rep.Body)
			} else if code, _ := rep.Code(); code != 1 {
				t.Fatalf("pipelined publish: got %q, want return_code 1", rep.Body)
			}
			if got := api.Contents(api.ReadNow(t, s.URL, []string{"b"}, "").Messages["b"]); len(got) != 1 || got[0] != "piped" {
				t.Fatalf("channel b after the pipelined publish: got %q, want [piped]", got)
			}
		})

		t.Run("keep-alive reuse after a poll answered by a publish and by the timeout", func(t *testing.T) {
			c := rawhttp.Dial(t, s.Addr)
			defer c.Close()
			br := bufio.NewReader(c)
			send := func(raw string) {
				t.Helper()
				if _, err := io.WriteString(c, raw); err != nil {
					t.Fatalf("write on the reused connection: %v", err)
				}
			}
			send(rawhttp.Request("GET", "/channels/a.json?since="+farSince, ""))
			waitHeld(t, s)
			api.Publish(t, s.URL, "a", "one")
			rr := readReplyOf(t, readOne(t, br, "GET"))
			if got := api.Contents(rr.Messages["a"]); len(got) != 1 || got[0] != "one" {
				t.Fatalf("poll 1: got %q, want [one]", got)
			}
			// Same connection: a poll that runs into --http-timeout.
			start := time.Now()
			send(rawhttp.Request("GET", "/channels/a.json?since="+itoa(rr.LastID), ""))
			rep := readOne(t, br, "GET")
			if d := time.Since(start); d < time.Second {
				t.Fatalf("poll 2: answered after %v, want the 4s hold", d)
			}
			rr2 := readReplyOf(t, rep)
			if len(rr2.Messages["a"]) != 0 || rr2.Since != rr.LastID {
				t.Fatalf("poll 2 at timeout: got %+v, want the empty result since %d", rr2, rr.LastID)
			}
			if rep.Close {
				t.Fatal("poll 2: got Connection: close, want keep-alive")
			}
			// And a third request still works on it.
			send(rawhttp.Request("GET", "/channels/a.json", ""))
			if got := api.Contents(readReplyOf(t, readOne(t, br, "GET")).Messages["a"]); len(got) == 0 {
				t.Fatal("request 3 on the reused connection: got no messages, want the retained ones")
			}
		})

		t.Run("HTTP/1.0 held poll is answered and closed", func(t *testing.T) {
			c := rawhttp.Dial(t, s.Addr)
			defer c.Close()
			br := bufio.NewReader(c)
			if _, err := io.WriteString(c, "GET /channels/b.json?since="+farSince+" HTTP/1.0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			waitHeld(t, s)
			api.Publish(t, s.URL, "b", "old client")
			rr := readReplyOf(t, readOne(t, br, "GET"))
			if got := api.Contents(rr.Messages["b"]); len(got) != 1 || got[0] != "old client" {
				t.Fatalf("HTTP/1.0 poll: got %q, want [old client]", got)
			}
			wantEOF(t, c, br)
		})

		t.Run("Connection: close on a held poll", func(t *testing.T) {
			c := rawhttp.Dial(t, s.Addr)
			defer c.Close()
			br := bufio.NewReader(c)
			if _, err := io.WriteString(c, rawhttp.Request("GET", "/channels/b.jsonp?since="+farSince, "", "Connection: close")); err != nil {
				t.Fatal(err)
			}
			rep := readOne(t, br, "GET") // the timeout answers it
			// "Connection: close" (ReadResponse takes the header out).
			if !rep.Close {
				t.Fatal("got a keep-alive reply, want Connection: close")
			}
			if !strings.HasPrefix(string(rep.Body), "/**/_JSONP_comet_cb(") {
				t.Fatalf("got %q, want a JSON-P reply", rep.Body)
			}
			wantEOF(t, c, br)
		})

		t.Run("a held poll with a chunked body is still a read", func(t *testing.T) {
			c := rawhttp.Dial(t, s.Addr)
			defer c.Close()
			br := bufio.NewReader(c)
			raw := "GET /channels/b.json?since=" + farSince + " HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
			if _, err := io.WriteString(c, raw); err != nil {
				t.Fatal(err)
			}
			waitHeld(t, s)
			api.Publish(t, s.URL, "b", "after body")
			rr := readReplyOf(t, readOne(t, br, "GET"))
			if got := api.Contents(rr.Messages["b"]); len(got) != 1 || got[0] != "after body" {
				t.Fatalf("got %q, want [after body]", got)
			}
			if _, err := io.WriteString(c, rawhttp.Request("GET", "/health", "")); err != nil {
				t.Fatal(err)
			}
			if rep := readOne(t, br, "GET"); rep.StatusCode != 200 {
				t.Fatalf("next request: got %d, want 200", rep.StatusCode)
			}
		})

		t.Run("since far in the future is the newest id, and the next publish answers", func(t *testing.T) {
			last := api.ReadNow(t, s.URL, []string{"a"}, "").LastID
			ch := holdPoll(t, s, "/channels/a.json?since="+farSince, 1)
			id := api.Publish(t, s.URL, "a", "future")
			rr := api.Wait(t, ch, holdBound).Read(t)
			if rr.Since != last {
				t.Fatalf("got since %d, want the newest id %d", rr.Since, last)
			}
			if got := rr.Messages["a"]; len(got) != 1 || got[0].ID != id || rr.LastID != id {
				t.Fatalf("got %+v (last_id %d), want just message %d", got, rr.LastID, id)
			}
			if rr.Truncated != nil {
				t.Fatalf("got truncated %v, want none", rr.Truncated)
			}
		})
	})
}
