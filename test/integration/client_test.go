package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// client is shared by the tests; a few use their own transport. Its idle
// connections are dropped well before the shortest server idle timeout
// (--http-timeout=1), so a POST never goes out on a connection the server
// is closing (Go does not retry a POST).
var client = &http.Client{
	Timeout: 90 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     400 * time.Millisecond,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is one HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// obj decodes a JSON (or --quote-json) body as an object, numbers kept
// exact.
func (r reply) obj(t testing.TB) map[string]any {
	t.Helper()
	b := unquote(r.Body)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q: got invalid JSON (%v), want an object", r.Body, err)
	}
	return m
}

// unquote strips the --quote-json wrapper when present.
func unquote(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("/*-secure-\n")) && bytes.HasSuffix(b, []byte("\n*/")) {
		return b[len("/*-secure-\n") : len(b)-len("\n*/")]
	}
	return b
}

// code is the body's return_code (and checks error_message fits it).
func (r reply) code(t testing.TB) int {
	t.Helper()
	m := r.obj(t)
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

func (r reply) wantCode(t testing.TB, want int) map[string]any {
	t.Helper()
	if got := r.code(t); got != want {
		t.Fatalf("got return_code %d (HTTP %d, body %s), want %d", got, r.Status, r.Body, want)
	}
	return r.obj(t)
}

func (r reply) wantStatus(t testing.TB, want int) reply {
	t.Helper()
	if r.Status != want {
		t.Fatalf("got HTTP %d (body %s), want %d", r.Status, r.Body, want)
	}
	return r
}

// do sends one request with a raw path (sent as written, query included)
// and an optional body of the given content type.
func do(t testing.TB, s *server.Server, method, rawPath, contentType string, body []byte) reply {
	t.Helper()
	return doCtx(t, context.Background(), s.URL, method, rawPath, contentType, body)
}

func doCtx(t testing.TB, ctx context.Context, base, method, rawPath, contentType string, body []byte) reply {
	t.Helper()
	r, err := tryDo(ctx, client, base, method, rawPath, contentType, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawPath, err)
	}
	return r
}

func tryDo(ctx context.Context, c *http.Client, base, method, rawPath, contentType string, body []byte) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+rawPath, rd)
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

const formType = "application/x-www-form-urlencoded"

// post sends a form body.
func post(t testing.TB, s *server.Server, rawPath string, form url.Values) reply {
	t.Helper()
	return do(t, s, http.MethodPost, rawPath, formType, []byte(form.Encode()))
}

func get(t testing.TB, s *server.Server, rawPath string) reply {
	t.Helper()
	return do(t, s, http.MethodGet, rawPath, "", nil)
}

func del(t testing.TB, s *server.Server, rawPath string) reply {
	t.Helper()
	return do(t, s, http.MethodDelete, rawPath, "", nil)
}

func multipartBody(t testing.TB, fields [][2]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

// esc percent-encodes a channel name or client id for a path.
func esc(name string) string { return url.PathEscape(name) }

// list joins channel names for a read path: A%7CB%7CC.
func list(names ...string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = esc(n)
	}
	return strings.Join(out, "%7C")
}

// registerChannel registers a channel and fails unless it worked.
func registerChannel(t testing.TB, s *server.Server, name string, extra ...string) {
	t.Helper()
	form := url.Values{"channel_id": {name}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	r := post(t, s, "/channels.json", form)
	if c := r.code(t); c != 1 {
		t.Fatalf("register channel %q: got return_code %d (%s), want 1", name, c, r.Body)
	}
}

func registerClient(t testing.TB, s *server.Server, id string) {
	t.Helper()
	post(t, s, "/clients.json", url.Values{"client_id": {id}}).wantCode(t, 1)
}

// publish publishes content and returns the message id.
func publish(t testing.TB, s *server.Server, channel, content string) int64 {
	t.Helper()
	r := post(t, s, "/channels/"+esc(channel)+".json", url.Values{"content": {content}})
	m := r.wantCode(t, 1)
	n, _ := m["message_id"].(json.Number).Int64()
	if n <= 0 {
		t.Fatalf("publish: got message_id %v, want a positive id", m["message_id"])
	}
	return n
}

// message and readReply are a read reply, typed.
type message struct {
	Content string `json:"content"`
	ID      int64  `json:"id"`
	TS      int64  `json:"ts"`
}

type readReply struct {
	Since        int64                `json:"since"`
	LastID       int64                `json:"last_id"`
	Messages     map[string][]message `json:"messages"`
	Truncated    []string             `json:"truncated"`
	ReturnCode   int                  `json:"return_code"`
	ErrorMessage string               `json:"error_message"`
}

func (r reply) read(t testing.TB) readReply {
	t.Helper()
	var rr readReply
	if err := json.Unmarshal(unquote(r.Body), &rr); err != nil {
		t.Fatalf("read reply %q: %v", r.Body, err)
	}
	if rr.ReturnCode != 1 {
		t.Fatalf("read: got return_code %d (%s), want 1", rr.ReturnCode, r.Body)
	}
	return rr
}

// readNow reads channels (raw query appended) and decodes the reply.
func readNow(t testing.TB, s *server.Server, channels []string, query string) readReply {
	t.Helper()
	p := "/channels/" + list(channels...) + ".json"
	if query != "" {
		p += "?" + query
	}
	return get(t, s, p).read(t)
}

func contents(ms []message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// status fetches /status.json and returns its "status" object.
func status(t testing.TB, s *server.Server) map[string]any {
	t.Helper()
	m := get(t, s, "/status.json").wantStatus(t, 200).wantCode(t, 1)
	st, ok := m["status"].(map[string]any)
	if !ok {
		t.Fatalf("status: got %v, want a status object", m)
	}
	return st
}

func num(t testing.TB, v any) int64 {
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

// eventually polls cond every 50ms until it holds or wait passes.
func eventually(t testing.TB, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// heldCount is held_connections_count from /status.json.
func heldCount(t testing.TB, s *server.Server) int64 {
	t.Helper()
	return num(t, status(t, s)["held_connections_count"])
}

// async runs a request in the background; its reply arrives on the channel.
type result struct {
	r   reply
	err error
	at  time.Time
}

func async(ctx context.Context, base, method, rawPath string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		r, err := tryDo(ctx, client, base, method, rawPath, "", nil)
		ch <- result{r, err, time.Now()}
	}()
	return ch
}

// wait waits up to d for an async reply.
func wait(t testing.TB, ch <-chan result, d time.Duration) reply {
	t.Helper()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("request failed: %v", res.err)
		}
		return res.r
	case <-time.After(d):
		t.Fatalf("no reply within %v", d)
		return reply{}
	}
}

// stillHeld fails if the async request was answered within d.
func stillHeld(t testing.TB, ch <-chan result, d time.Duration) {
	t.Helper()
	select {
	case res := <-ch:
		t.Fatalf("got a reply (%v, %s), want the poll still held", res.err, res.r.Body)
	case <-time.After(d):
	}
}
