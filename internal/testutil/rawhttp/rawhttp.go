// Package rawhttp is what the hostile-input and limits tests use to talk to
// a running server: requests written byte for byte over TCP (so that they
// can be malformed in ways net/http would refuse to send), replies parsed
// with net/http. Its Register, Publish and ReadAll make each exchange on a
// connection of its own, closed after the reply, so that a test of
// connection limits counts only the connections it opens itself; the
// replies decode into package api's types.
//
// Every function takes testing.TB and fails the test on an I/O error it
// does not expect; deadlines are generous and bounded.
package rawhttp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// Timeout bounds every exchange.
const Timeout = 20 * time.Second

// Reply is one HTTP response with its body read.
type Reply struct {
	*http.Response
	Body []byte
}

// Code is the reply's return_code: the body is decoded as JSON, or as the
// JSON inside a JSON-P call. ok is false when there is no such object.
func (r *Reply) Code() (code int, ok bool) {
	var a struct {
		Code *int `json:"return_code"`
	}
	if err := json.Unmarshal(Unwrap(r.Body), &a); err != nil || a.Code == nil {
		return 0, false
	}
	return *a.Code, true
}

// Unwrap returns the JSON inside a JSON-P body ("/**/CB(JSON);") or a
// --quote-json body; other bodies are returned as they are.
func Unwrap(b []byte) []byte {
	if rest, ok := bytes.CutPrefix(b, []byte("/**/")); ok {
		if i := bytes.IndexByte(rest, '('); i >= 0 && bytes.HasSuffix(rest, []byte(");")) {
			return rest[i+1 : len(rest)-2]
		}
	}
	if rest, ok := bytes.CutPrefix(b, []byte("/*-secure-\n")); ok {
		return bytes.TrimSuffix(rest, []byte("\n*/"))
	}
	return b
}

// Decode unmarshals the reply's (unwrapped) JSON into v.
func (r *Reply) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(Unwrap(r.Body), v); err != nil {
		t.Fatalf("got body %q, want JSON: %v", r.Body, err)
	}
}

// Dial opens a TCP connection with the exchange deadline set.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	// A machine busy with other tests may briefly run out of ports.
	for i := 0; i < 20; i++ {
		if c, err = net.DialTimeout("tcp", addr, Timeout); err == nil {
			_ = c.SetDeadline(time.Now().Add(Timeout))
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dial %s: %v", addr, err)
	return nil
}

// Send writes raw on a new connection and reads one reply (to a HEAD
// request when raw starts with HEAD: no body).
func Send(t testing.TB, addr, raw string) *Reply {
	t.Helper()
	c := Dial(t, addr)
	// Write while reading: a server that refuses a huge request answers
	// before reading all of it and then resets the connection, which would
	// discard its answer if it were read only after the write.
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, raw)
		wrote <- err
	}()
	rep, err := Read(bufio.NewReader(c), methodOf(raw))
	c.Close()
	werr := <-wrote
	if err != nil {
		t.Fatalf("reading the reply to %.80q: %v (write: %v)", raw, err, werr)
	}
	return rep
}

// Read reads one reply to a request of the given method from br.
func Read(br *bufio.Reader, method string) (*Reply, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !(errors.Is(err, syscall.ECONNRESET) && resp.ContentLength < 0 && resp.Close) {
		// A server that refuses a request it did not read to the end
		// writes a close-delimited answer and resets the connection: what
		// arrived before the reset is the answer.
		return nil, err
	}
	return &Reply{Response: resp, Body: b}, nil
}

func methodOf(raw string) string {
	m, _, _ := strings.Cut(raw, " ")
	return m
}

// Request builds a raw HTTP/1.1 request with Host and, when body is not
// empty or the method is POST, Content-Length. headers are "Name: value"
// lines.
func Request(method, target, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: test\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

// Form is a urlencoded POST request.
func Form(target string, v url.Values, headers ...string) string {
	return Request("POST", target, v.Encode(), append([]string{"Content-Type: application/x-www-form-urlencoded"}, headers...)...)
}

// Call sends a request built by Request or Form and returns the reply and
// its return code, failing when the reply carries none.
func Call(t testing.TB, addr, raw string) (*Reply, int) {
	t.Helper()
	rep := Send(t, addr, raw)
	code, ok := rep.Code()
	if !ok {
		t.Fatalf("%.80q: got status %d body %q, want an API reply", raw, rep.StatusCode, rep.Body)
	}
	return rep, code
}

// Register registers a channel with the given extra form values (secret,
// max_messages, ...) and fails unless it succeeds.
func Register(t testing.TB, addr, channel string, extra url.Values) {
	t.Helper()
	v := url.Values{"channel_id": {channel}}
	for k, vs := range extra {
		v[k] = vs
	}
	if rep, code := Call(t, addr, Form("/channels.json", v)); code != 1 {
		t.Fatalf("register %q: got %d %q, want 1", channel, code, rep.Body)
	}
}

// Publish publishes content and returns its message id, failing unless it
// succeeds.
func Publish(t testing.TB, addr, channel, content string, extra url.Values) int64 {
	t.Helper()
	v := url.Values{"content": {content}}
	for k, vs := range extra {
		v[k] = vs
	}
	rep, code := Call(t, addr, Form("/channels/"+url.PathEscape(channel)+".json", v))
	if code != 1 {
		t.Fatalf("publish to %q: got %d %q, want 1", channel, code, rep.Body)
	}
	var m struct {
		ID int64 `json:"message_id"`
	}
	rep.Decode(t, &m)
	return m.ID
}

// ReadAll reads channel since 0 (it has messages, so the read is not held)
// and returns its messages.
func ReadAll(t testing.TB, addr, channel string) []api.Message {
	t.Helper()
	rep, code := Call(t, addr, Request("GET", "/channels/"+url.PathEscape(channel)+".json?since=0", ""))
	if code != 1 {
		t.Fatalf("read %q: got %d %q, want 1", channel, code, rep.Body)
	}
	var r api.ReadReply
	rep.Decode(t, &r)
	return r.Messages[channel]
}
