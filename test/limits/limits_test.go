// Package limits checks every limit switch against the real server binary:
// just under the limit works, just over gets the answer PROTOCOL.md
// documents, and the server keeps serving other clients meanwhile.
package limits

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// wantUnavailable checks a -5 answer: 503 with Retry-After on .json.
func wantUnavailable(t *testing.T, rep *rawhttp.Reply) {
	t.Helper()
	code, _ := rep.Code()
	if rep.StatusCode != 503 || rep.Header.Get("Retry-After") == "" || code != -5 {
		t.Fatalf("got %d Retry-After %q %q, want 503 with Retry-After and return_code -5", rep.StatusCode, rep.Header.Get("Retry-After"), rep.Body)
	}
}

// stillServes checks that a channel registered before can be published to
// and read: the server keeps serving others.
func stillServes(t *testing.T, addr, channel string) {
	t.Helper()
	id := rawhttp.Publish(t, addr, channel, "still here", nil)
	msgs := rawhttp.ReadAll(t, addr, channel)
	if len(msgs) == 0 || msgs[len(msgs)-1].ID != id {
		t.Fatalf("got %v, want the message %d just published last", msgs, id)
	}
}

func TestMaxBodyBytes(t *testing.T) {
	s := server.Start(t, "--max-body-bytes=1024")
	rawhttp.Register(t, s.Addr, "c", nil)
	content := func(n int) string { return "content=" + strings.Repeat("x", n-len("content=")) }

	rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("POST", "/channels/c.json", content(1024), "Content-Type: application/x-www-form-urlencoded"))
	if rep.StatusCode != 200 || code != 1 {
		t.Fatalf("a 1024-byte body: got %d %q, want 200 and 1", rep.StatusCode, rep.Body)
	}
	for _, raw := range []string{
		rawhttp.Request("POST", "/channels/c.json", content(1025), "Content-Type: application/x-www-form-urlencoded"),
		chunked("/channels/c.json", content(1025)),
		rawhttp.Request("POST", "/channels/c.json", content(1025), "Content-Type: multipart/form-data; boundary=B"),
		rawhttp.Request("POST", "/channels/c.json", content(1025), "Content-Type: text/plain"),
	} {
		rep, code = rawhttp.Call(t, s.Addr, raw)
		if rep.StatusCode != 413 || code != -1 {
			t.Fatalf("a 1025-byte body (%.60q): got %d %q, want 413 and -1", raw, rep.StatusCode, rep.Body)
		}
	}
	if msgs := rawhttp.ReadAll(t, s.Addr, "c"); len(msgs) != 1 || len(msgs[0].Content) != 1024-len("content=") {
		t.Fatalf("got %d messages, want only the one under the limit", len(msgs))
	}
	stillServes(t, s.Addr, "c")
}

// chunked builds a chunked urlencoded POST.
func chunked(target, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", target, len(body), body)
}

// sized pads a GET of /health to exactly n bytes of request line and
// headers.
func sized(n int) string {
	head := "GET /health HTTP/1.1\r\nHost: t\r\nX-Pad: "
	tail := "\r\n\r\n"
	return head + strings.Repeat("p", n-len(head)-len(tail)) + tail
}

func TestMaxHeaderBytes(t *testing.T) {
	s := server.Start(t, "--max-header-bytes=8192")
	rawhttp.Register(t, s.Addr, "c", nil)
	if rep := rawhttp.Send(t, s.Addr, sized(8192)); rep.StatusCode != 200 {
		t.Fatalf("8192 bytes of headers: got %d %q, want 200", rep.StatusCode, rep.Body)
	}
	if rep := rawhttp.Send(t, s.Addr, sized(8193)); rep.StatusCode != 431 {
		t.Fatalf("8193 bytes of headers: got %d %q, want 431", rep.StatusCode, rep.Body)
	}
	stillServes(t, s.Addr, "c")
}

func TestMaxChannelsPerRead(t *testing.T) {
	s := server.Start(t, "--max-channels-per-read=5")
	rawhttp.Register(t, s.Addr, "c", nil)
	rawhttp.Publish(t, s.Addr, "c", "m", nil)
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("GET", "/channels/c%7Cx1%7Cx2%7Cx3%7Cx4.json?since=0", "")); code != 1 {
		t.Fatalf("5 channels: got %q, want 1", rep.Body)
	}
	rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("GET", "/channels/c%7Cx1%7Cx2%7Cx3%7Cx4%7Cx5.json?since=0", ""))
	if rep.StatusCode != 200 || code != -1 || !strings.Contains(string(rep.Body), "Too many channels") {
		t.Fatalf("6 channels: got %d %q, want 200, -1 Too many channels", rep.StatusCode, rep.Body)
	}
	stillServes(t, s.Addr, "c")
}

func TestMaxChannelNameBytes(t *testing.T) {
	s := server.Start(t, "--max-channel-name-bytes=16")
	name16, name17 := strings.Repeat("n", 16), strings.Repeat("n", 17)
	rawhttp.Register(t, s.Addr, name16, nil)
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/channels.json", url.Values{"channel_id": {name17}})); code != -1 {
		t.Fatalf("register a 17-byte name: got %q, want -1", rep.Body)
	}
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("GET", "/channels/"+name16+"%7C"+name17+".json", "")); code != -1 {
		t.Fatalf("read with a 17-byte name: got %q, want -1", rep.Body)
	}
	stillServes(t, s.Addr, name16)

	// Above PROTOCOL.md's 255 bytes the switch is refused at start.
	if out, code := runBinary(t, "--max-channel-name-bytes=256"); code != 2 || !strings.Contains(out, "max-channel-name-bytes") {
		t.Fatalf("--max-channel-name-bytes=256: got exit %d %q, want 2 naming the switch", code, out)
	}
}

func TestMaxMessagesLimit(t *testing.T) {
	s := server.Start(t, "--max-messages-limit=50", "--messages-per-channel=10")
	rawhttp.Register(t, s.Addr, "c50", url.Values{"max_messages": {"50"}})
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/channels.json", url.Values{"channel_id": {"c51"}, "max_messages": {"51"}})); code != -1 {
		t.Fatalf("max_messages 51: got %q, want -1", rep.Body)
	}
	stillServes(t, s.Addr, "c50")
}

func TestMaxChannels(t *testing.T) {
	s := server.Start(t, "--max-channels=3")
	for i := range 3 {
		rawhttp.Register(t, s.Addr, fmt.Sprint("c", i), nil)
	}
	wantUnavailable(t, rawhttp.Send(t, s.Addr, rawhttp.Form("/channels.json", url.Values{"channel_id": {"c3"}})))
	// JSON-P stays 200, so that the script's callback runs.
	rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/channels.jsonp", url.Values{"channel_id": {"c3"}}))
	if rep.StatusCode != 200 || code != -5 {
		t.Fatalf("JSON-P over the limit: got %d %q, want 200 and -5", rep.StatusCode, rep.Body)
	}
	stillServes(t, s.Addr, "c0")
	// A freed place can be taken again.
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("DELETE", "/channels/c1.json", "")); code != 2 {
		t.Fatalf("delete: got %q, want 2", rep.Body)
	}
	rawhttp.Register(t, s.Addr, "c3", nil)
}

func TestMaxClients(t *testing.T) {
	s := server.Start(t, "--max-clients=3")
	rawhttp.Register(t, s.Addr, "c", nil)
	for i := range 3 {
		if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/clients.json", url.Values{"client_id": {fmt.Sprint("u", i)}})); code != 1 {
			t.Fatalf("client %d: got %q, want 1", i, rep.Body)
		}
	}
	wantUnavailable(t, rawhttp.Send(t, s.Addr, rawhttp.Form("/clients.json", url.Values{"client_id": {"u3"}})))
	stillServes(t, s.Addr, "c")
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Request("DELETE", "/clients/u0.json", "")); code != 2 {
		t.Fatalf("delete: got %q, want 2", rep.Body)
	}
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/clients.json", url.Values{"client_id": {"u3"}})); code != 1 {
		t.Fatalf("a client after one left: got %q, want 1", rep.Body)
	}
}

// hold starts a poll of channel that waits (since is far ahead) and returns
// its connection and reader, the reply not read yet.
func hold(t *testing.T, addr, channel string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := rawhttp.Dial(t, addr)
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, rawhttp.Request("GET", "/channels/"+channel+".json?since=9223372036854775807", "")); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

func TestMaxHeldPolls(t *testing.T) {
	s := server.Start(t, "--max-held-polls=3", "--http-timeout=20", "--enable-status")
	rawhttp.Register(t, s.Addr, "c", nil)
	rawhttp.Register(t, s.Addr, "other", nil)
	var readers []*bufio.Reader
	for range 3 {
		_, br := hold(t, s.Addr, "c")
		readers = append(readers, br)
	}
	api.Eventually(t, "3 held polls", 10*time.Second, func() bool { return api.Held(t, s.URL) == 3 })
	wantUnavailable(t, rawhttp.Send(t, s.Addr, rawhttp.Request("GET", "/channels/other.json?since=9223372036854775807", "")))
	// Others are served meanwhile: a read with something to answer is not
	// held, and publishing works and wakes the held polls.
	stillServes(t, s.Addr, "other")
	id := rawhttp.Publish(t, s.Addr, "c", "wake", nil)
	for i, br := range readers {
		rep, err := rawhttp.Read(br, "GET")
		if err != nil {
			t.Fatalf("held poll %d: %v", i, err)
		}
		var r api.ReadReply
		rep.Decode(t, &r)
		if m := r.Messages["c"]; r.ReturnCode != 1 || len(m) != 1 || m[0].ID != id {
			t.Fatalf("held poll %d: got %q, want message %d", i, rep.Body, id)
		}
	}
	// The places are free again.
	api.Eventually(t, "no held polls", 10*time.Second, func() bool { return api.Held(t, s.URL) == 0 })
	hold(t, s.Addr, "other")
	api.Eventually(t, "a held poll after the others ended", 10*time.Second, func() bool { return api.Held(t, s.URL) == 1 })
}

func TestMaxConnections(t *testing.T) {
	s := server.Start(t, "--max-connections=20", "--http-timeout=60")
	rawhttp.Register(t, s.Addr, "c", nil)
	rawhttp.Publish(t, s.Addr, "c", "m", nil) // so that reads are answered at once
	// 20 connections, each served once and then left idle (keep-alive).
	type kept struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []kept
	for i := range 20 {
		c := rawhttp.Dial(t, s.Addr)
		t.Cleanup(func() { c.Close() })
		k := kept{c, bufio.NewReader(c)}
		if rep := exchange(t, k.c, k.br, rawhttp.Request("GET", "/health", "")); rep.StatusCode != 200 {
			t.Fatalf("connection %d: got %d, want 200", i, rep.StatusCode)
		}
		conns = append(conns, k)
	}
	rep := rawhttp.Send(t, s.Addr, rawhttp.Request("GET", "/health", ""))
	wantUnavailable(t, rep)
	if !rep.Close {
		t.Fatal("the 21st connection: got it kept open, want it closed")
	}
	// The 20 keep being served.
	for i, k := range conns {
		if rep := exchange(t, k.c, k.br, rawhttp.Request("GET", "/channels/c.json?since=0&x="+fmt.Sprint(i), "")); rep.StatusCode != 200 {
			t.Fatalf("connection %d after the refusal: got %d %q, want 200", i, rep.StatusCode, rep.Body)
		}
	}
	// A freed place works again (the server notices the close shortly).
	conns[0].c.Close()
	api.Eventually(t, "a freed connection slot", 10*time.Second, func() bool {
		return rawhttp.Send(t, s.Addr, rawhttp.Request("GET", "/health", "")).StatusCode == 200
	})
}

// exchange writes one request on an open connection and reads its reply.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, raw string) *rawhttp.Reply {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	rep, err := rawhttp.Read(br, "GET")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRequestTimeout(t *testing.T) {
	s := server.Start(t, "--request-timeout=2", "--http-timeout=30")
	rawhttp.Register(t, s.Addr, "c", nil)
	rawhttp.Publish(t, s.Addr, "c", "m", nil) // so that reads are answered at once

	// Just under: headers in two parts within the timeout.
	c := rawhttp.Dial(t, s.Addr)
	defer c.Close()
	raw := rawhttp.Request("GET", "/channels/c.json?since=0", "")
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, raw[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := io.WriteString(c, raw[10:]); err != nil {
		t.Fatal(err)
	}
	if rep, err := rawhttp.Read(br, "GET"); err != nil || rep.StatusCode != 200 {
		t.Fatalf("a request sent within the timeout: got %v %v, want 200", rep, err)
	}

	// Over: headers that never end are answered 408 after the timeout and
	// the connection closed, and so is a body that stops (PROTOCOL.md,
	// "Requests that do not arrive").
	slow := rawhttp.Dial(t, s.Addr)
	defer slow.Close()
	start := time.Now()
	if _, err := io.WriteString(slow, "GET /health HTTP/1.1\r\nHost: t\r\n"); err != nil {
		t.Fatal(err)
	}
	sbr := bufio.NewReader(slow)
	if rep, err := rawhttp.Read(sbr, "GET"); err != nil || rep.StatusCode != 408 || !rep.Close {
		t.Fatalf("unfinished headers: got %v %v, want 408 with Connection: close", rep, err)
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Fatalf("unfinished headers: got the 408 after %v, want it after about 2s", d)
	}
	if _, err := sbr.ReadByte(); err == nil {
		t.Fatal("unfinished headers: got more bytes after the 408, want the connection closed")
	}
	body := rawhttp.Dial(t, s.Addr)
	defer body.Close()
	if _, err := io.WriteString(body, "POST /channels/c.json HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\ncontent="); err != nil {
		t.Fatal(err)
	}
	rep, err := rawhttp.Read(bufio.NewReader(body), "POST")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Code(); rep.StatusCode != 408 || ok || !rep.Close {
		t.Fatalf("unfinished body: got %d %q close=%v, want 408 without a return code and Connection: close", rep.StatusCode, rep.Body, rep.Close)
	}
	stillServes(t, s.Addr, "c")
}

// runBinary runs the server binary with args and returns its output and
// exit status; it must exit on its own (a refused switch) within 30s.
func runBinary(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, server.Binary(t), append([]string{"--http-port=0", "--bind=127.0.0.1"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("run %v: %v", args, err)
	return "", 0
}
