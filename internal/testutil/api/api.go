// Package api is the one small client of Simple Comet's HTTP API that the
// test suites share: a request to a server's base URL, its reply read in
// full, and the checks every suite makes of a reply (the return code, its
// error message, the read fields). Requests that must be malformed, or whose
// bytes or headers a test checks exactly, go through package rawhttp
// instead.
//
// Every function that takes a testing.TB fails the test on an error it does
// not expect and must be called from the test's goroutine; Try and Async
// return their error instead, for goroutines the test starts. Every request
// is bounded by the client's timeout.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Client is the HTTP client of every function here that takes none. Its
// idle connections are dropped well before the shortest server idle timeout
// a test sets (--http-timeout=1), so a POST never goes out on a connection
// the server is closing (Go does not retry a POST). It follows no
// redirects: a test sees what the server answered.
var Client = &http.Client{
	Timeout: 90 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     400 * time.Millisecond,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// FormType is the content type of a form body.
const FormType = "application/x-www-form-urlencoded"

// Reply is one HTTP answer, its body read in full.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Try sends one request to base+rawPath (the path and query sent as
// written) with an optional body of the given content type and extra
// headers given as name, value pairs, through c (Client when nil).
func Try(ctx context.Context, c *http.Client, base, method, rawPath, contentType string, body []byte, header ...string) (Reply, error) {
	if c == nil {
		c = Client
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+rawPath, rd)
	if err != nil {
		return Reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Do is Try through Client that fails the test when no reply arrives.
func Do(t testing.TB, base, method, rawPath, contentType string, body []byte, header ...string) Reply {
	t.Helper()
	return DoCtx(t, context.Background(), base, method, rawPath, contentType, body, header...)
}

// DoCtx is Do under ctx.
func DoCtx(t testing.TB, ctx context.Context, base, method, rawPath, contentType string, body []byte, header ...string) Reply {
	t.Helper()
	r, err := Try(ctx, nil, base, method, rawPath, contentType, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawPath, err)
	}
	return r
}

// Get sends a GET.
func Get(t testing.TB, base, rawPath string) Reply {
	t.Helper()
	return Do(t, base, http.MethodGet, rawPath, "", nil)
}

// Post sends form as a urlencoded body.
func Post(t testing.TB, base, rawPath string, form url.Values) Reply {
	t.Helper()
	return Do(t, base, http.MethodPost, rawPath, FormType, []byte(form.Encode()))
}

// Delete sends a DELETE.
func Delete(t testing.TB, base, rawPath string) Reply {
	t.Helper()
	return Do(t, base, http.MethodDelete, rawPath, "", nil)
}

// Unquote strips the --quote-json wrapper from b when it is there.
func Unquote(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("/*-secure-\n")) && bytes.HasSuffix(b, []byte("\n*/")) {
		return b[len("/*-secure-\n") : len(b)-len("\n*/")]
	}
	return b
}

// Obj decodes a JSON (or --quote-json) body as an object, numbers kept
// exact as json.Number.
func (r Reply) Obj(t testing.TB) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(Unquote(r.Body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q: got invalid JSON (%v), want an object", r.Body, err)
	}
	return m
}

// Code is the body's return_code. It fails the test unless the body also
// carries an error_message that is empty exactly on success.
func (r Reply) Code(t testing.TB) int {
	t.Helper()
	m := r.Obj(t)
	n, ok := m["return_code"].(json.Number)
	if !ok {
		t.Fatalf("body %s: got no return_code", r.Body)
	}
	c, _ := n.Int64()
	msg, ok := m["error_message"].(string)
	if !ok {
		t.Fatalf("body %s: got no error_message string", r.Body)
	}
	if (c >= 1) != (msg == "") {
		t.Fatalf("body %s: got return_code %d with error_message %q; want \"\" exactly on success", r.Body, c, msg)
	}
	return int(c)
}

// WantCode fails the test unless the return code is want, and returns the
// decoded body.
func (r Reply) WantCode(t testing.TB, want int) map[string]any {
	t.Helper()
	if got := r.Code(t); got != want {
		t.Fatalf("got return_code %d (HTTP %d, body %s), want %d", got, r.Status, r.Body, want)
	}
	return r.Obj(t)
}

// WantStatus fails the test unless the HTTP status is want.
func (r Reply) WantStatus(t testing.TB, want int) Reply {
	t.Helper()
	if r.Status != want {
		t.Fatalf("got HTTP %d (body %s), want %d", r.Status, r.Body, want)
	}
	return r
}

// Message is one message of a read reply.
type Message struct {
	Content string `json:"content"`
	ID      int64  `json:"id"`
	TS      int64  `json:"ts"`
}

// ReadReply is a read's reply, typed.
type ReadReply struct {
	Since        int64                `json:"since"`
	LastID       int64                `json:"last_id"`
	Messages     map[string][]Message `json:"messages"`
	Truncated    []string             `json:"truncated"`
	ReturnCode   int                  `json:"return_code"`
	ErrorMessage string               `json:"error_message"`
}

// Read decodes a read reply and fails the test unless it is HTTP 200 with
// return code 1.
func (r Reply) Read(t testing.TB) ReadReply {
	t.Helper()
	r.WantStatus(t, http.StatusOK)
	var rr ReadReply
	if err := json.Unmarshal(Unquote(r.Body), &rr); err != nil {
		t.Fatalf("read reply %q: %v", r.Body, err)
	}
	if rr.ReturnCode != 1 {
		t.Fatalf("read: got return_code %d (%s), want 1", rr.ReturnCode, r.Body)
	}
	return rr
}

// Contents lists the contents of ms, in order.
func Contents(ms []Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// List joins channel names, each percent-encoded, for a read path:
// A%7CB%7CC.
func List(names ...string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = url.PathEscape(n)
	}
	return strings.Join(out, "%7C")
}

// form is name plus the extra name, value pairs.
func form(name, value string, extra []string) url.Values {
	f := url.Values{name: {value}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// Register registers a channel, with extra form fields as name, value pairs
// (use_sessions, max_messages, secret ...), and fails the test unless it
// answers HTTP 200 with return code 1.
func Register(t testing.TB, base, channel string, extra ...string) {
	t.Helper()
	r := Post(t, base, "/channels.json", form("channel_id", channel, extra)).WantStatus(t, http.StatusOK)
	if c := r.Code(t); c != 1 {
		t.Fatalf("register channel %q: got return_code %d (%s), want 1", channel, c, r.Body)
	}
}

// RegisterClient registers a client id, with extra form fields as name,
// value pairs, and fails the test unless it answers HTTP 200 with return
// code 1.
func RegisterClient(t testing.TB, base, id string, extra ...string) {
	t.Helper()
	r := Post(t, base, "/clients.json", form("client_id", id, extra)).WantStatus(t, http.StatusOK)
	if c := r.Code(t); c != 1 {
		t.Fatalf("register client %q: got return_code %d (%s), want 1", id, c, r.Body)
	}
}

// Publish publishes content to channel, with extra form fields as name,
// value pairs, and returns the message id; it fails the test unless the
// publish answers HTTP 200 with return code 1 and a positive id.
func Publish(t testing.TB, base, channel, content string, extra ...string) int64 {
	t.Helper()
	r := Post(t, base, "/channels/"+url.PathEscape(channel)+".json", form("content", content, extra)).WantStatus(t, http.StatusOK)
	m := r.WantCode(t, 1)
	n, _ := m["message_id"].(json.Number).Int64()
	if n <= 0 {
		t.Fatalf("publish: got message_id %v, want a positive id", m["message_id"])
	}
	return n
}

// ReadNow reads channels (query, when not empty, appended raw) and decodes
// the reply, failing the test unless its return code is 1. The read must
// be answered at once (since below the channels' last id) or it waits for
// the server's hold timeout.
func ReadNow(t testing.TB, base string, channels []string, query string) ReadReply {
	t.Helper()
	p := "/channels/" + List(channels...) + ".json"
	if query != "" {
		p += "?" + query
	}
	return Get(t, base, p).Read(t)
}

// Status fetches /status.json and returns its "status" object.
func Status(t testing.TB, base string) map[string]any {
	t.Helper()
	m := Get(t, base, "/status.json").WantStatus(t, 200).WantCode(t, 1)
	st, ok := m["status"].(map[string]any)
	if !ok {
		t.Fatalf("status: got %v, want a status object", m)
	}
	return st
}

// Held is held_connections_count from /status.json.
func Held(t testing.TB, base string) int64 {
	t.Helper()
	return Num(t, Status(t, base)["held_connections_count"])
}

// Num is v, a json.Number from Obj, as an integer.
func Num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("got %v (%T), want a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("got %v, want an integer", v)
	}
	return i
}

// Eventually checks cond every 50ms until it holds, and fails the test
// when wait passes first.
func Eventually(t testing.TB, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Result is the outcome of a request sent by Async, and when it arrived.
type Result struct {
	Reply Reply
	Err   error
	At    time.Time
}

// Async sends a request in the background, through Client, and delivers
// its outcome on the returned channel: a poll the server holds.
func Async(ctx context.Context, base, method, rawPath string) <-chan Result {
	ch := make(chan Result, 1)
	go func() {
		r, err := Try(ctx, nil, base, method, rawPath, "", nil)
		ch <- Result{r, err, time.Now()}
	}()
	return ch
}

// Wait waits up to d for the reply of an Async request and fails the test
// if none arrives or the request failed.
func Wait(t testing.TB, ch <-chan Result, d time.Duration) Reply {
	t.Helper()
	select {
	case res := <-ch:
		if res.Err != nil {
			t.Fatalf("request failed: %v", res.Err)
		}
		return res.Reply
	case <-time.After(d):
		t.Fatalf("no reply within %v", d)
		return Reply{}
	}
}

// StillHeld fails the test if the Async request is answered within d.
func StillHeld(t testing.TB, ch <-chan Result, d time.Duration) {
	t.Helper()
	select {
	case res := <-ch:
		t.Fatalf("got a reply (%v, %s), want the poll still held", res.Err, res.Reply.Body)
	case <-time.After(d):
	}
}
