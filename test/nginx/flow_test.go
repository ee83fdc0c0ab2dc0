//go:build unix

package nginx

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// hold is the server's --http-timeout in these tests: short, so that the
// timeout case runs quickly, and well below the file's proxy_read_timeout.
const hold = 2 * time.Second

func TestOneNode(t *testing.T) {
	node := server.Start(t, "--enable-status", "--http-timeout="+strconv.Itoa(int(hold/time.Second)))
	front := startNginx(t, node.Addr)
	runFlow(t, front, []*server.Server{node})
}

type reply struct {
	status  int
	header  http.Header
	body    []byte
	decoded map[string]any
	err     error
}

func do(method, u string, form url.Values) reply {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return reply{err: err}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	r.body, r.err = io.ReadAll(resp.Body)
	if r.err == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		r.err = json.Unmarshal(r.body, &r.decoded)
	}
	return r
}

func mustDo(t testing.TB, method, u string, form url.Values) reply {
	t.Helper()
	r := do(method, u, form)
	if r.err != nil {
		t.Fatalf("%s %s: %v", method, u, r.err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("%s %s: got status %d (%s), want 200", method, u, r.status, r.body)
	}
	return r
}

func code(r reply) float64 { v, _ := r.decoded["return_code"].(float64); return v }

func messages(r reply, ch string) []any {
	m, _ := r.decoded["messages"].(map[string]any)
	l, _ := m[ch].([]any)
	return l
}

// held sums the polls held on the nodes, read from their own status.
func held(t testing.TB, nodes []*server.Server) int {
	t.Helper()
	n := 0
	for _, s := range nodes {
		r := mustDo(t, "GET", s.URL+"/status.json", nil)
		v, _ := r.decoded["held_connections_count"].(float64)
		n += int(v)
	}
	return n
}

func waitHeld(t testing.TB, nodes []*server.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for held(t, nodes) != want {
		if time.Now().After(deadline) {
			t.Fatalf("held polls: got %d, want %d (waited 10s)", held(t, nodes), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func poll(u string) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- do("GET", u, nil) }()
	return ch
}

func await(t testing.TB, ch <-chan reply, within time.Duration) reply {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("held poll: %v", r.err)
		}
		return r
	case <-time.After(within):
		t.Fatalf("held poll: got no reply within %v, want one", within)
		return reply{}
	}
}

// runFlow runs the long-polling flow through front, whose upstream is nodes.
func runFlow(t *testing.T, front *frontEnd, nodes []*server.Server) {
	f := front.URL
	t.Run("client and health", func(t *testing.T) {
		r := mustDo(t, "GET", f+"/simple-comet.min.js", nil)
		if !bytes.Equal(r.body, client.Minified) {
			t.Errorf("/simple-comet.min.js through nginx: got %d bytes that differ, want the embedded client (%d bytes)", len(r.body), len(client.Minified))
		}
		if r := mustDo(t, "GET", f+"/health", nil); string(r.body) != `{"ok":true}` {
			t.Errorf("/health: got %s, want {\"ok\":true}", r.body)
		}
	})

	mustDo(t, "POST", f+"/channels.json", url.Values{"channel_id": {"news"}})
	pub := mustDo(t, "POST", f+"/channels/news.json", url.Values{"content": {"first"}})
	if code(pub) != 1 {
		t.Fatalf("publish: got %s, want return_code 1", pub.body)
	}
	r := mustDo(t, "GET", f+"/channels/news.json?since=0", nil)
	if l := messages(r, "news"); len(l) != 1 {
		t.Fatalf("read: got %s, want the first message", r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("read through nginx: got Access-Control-Allow-Origin %q, want *", got)
	}
	last := int64(r.decoded["last_id"].(float64))

	t.Run("publish releases a held poll", func(t *testing.T) {
		for i := range 3 {
			ch := poll(f + "/channels/news.json?since=" + strconv.FormatInt(last, 10))
			waitHeld(t, nodes, 1)
			content := "released " + strconv.Itoa(i)
			start := time.Now()
			mustDo(t, "POST", f+"/channels/news.json", url.Values{"content": {content}})
			r := await(t, ch, hold+5*time.Second)
			// Not a timing assertion: a poll answered by the hold timeout
			// has no message; this one must carry the publish.
			l := messages(r, "news")
			if r.status != 200 || len(l) != 1 || l[0].(map[string]any)["content"] != content {
				t.Fatalf("held poll after %v: got %d %.300s, want the message %q", time.Since(start), r.status, r.body, content)
			}
			last = int64(r.decoded["last_id"].(float64))
			waitHeld(t, nodes, 0)
		}
	})

	t.Run("nothing is buffered", func(t *testing.T) {
		// A reader slower than the node: were the reply buffered (nginx's
		// proxy_buffering on, and the server's X-Accel-Buffering: no
		// ignored), nginx would soak it up into its temp files and say so
		// in its error log; unbuffered, it goes at the reader's pace.
		// The reply through nginx carries the node's messages unchanged.
		// More than nginx's socket send buffer can hold (tcp_wmem max is
		// 4 MiB on Linux by default): 12 × 640 KiB.
		big, n := strings.Repeat("0123456789abcdef", 40<<10), 12
		for range n {
			mustDo(t, "POST", f+"/channels/news.json", url.Values{"content": {big}})
		}
		u := "/channels/news.json?since=" + strconv.FormatInt(last, 10)
		via := slowGet(t, front, u, 2*time.Second)
		direct := mustDo(t, "GET", nodes[0].URL+u, nil)
		var got reply
		if err := json.Unmarshal(via, &got.decoded); err != nil {
			t.Fatalf("through nginx: got %d bytes that are not JSON (%v), want a read reply", len(via), err)
		}
		a, _ := json.Marshal(messages(got, "news"))
		b, _ := json.Marshal(messages(direct, "news"))
		if len(messages(got, "news")) != n || !bytes.Equal(a, b) {
			t.Fatalf("through nginx: got %d messages (%d bytes), want the node's %d (%d bytes)", len(messages(got, "news")), len(a), len(messages(direct, "news")), len(b))
		}
		last = int64(got.decoded["last_id"].(float64))
		log, _ := os.ReadFile(filepath.Join(front.Dir, "error.log"))
		if strings.Contains(string(log), "upstream response is buffered") {
			t.Errorf("nginx error.log: got %q, want no upstream response spooled to disk", "upstream response is buffered")
		}
	})

	t.Run("hold timeout passes through", func(t *testing.T) {
		start := time.Now()
		r := await(t, poll(f+"/channels/news.json?since="+strconv.FormatInt(last, 10)), hold+10*time.Second)
		if r.status != http.StatusOK {
			t.Fatalf("held poll at the hold timeout: got status %d (%s), want 200", r.status, r.body)
		}
		if code(r) != 1 || len(messages(r, "news")) != 0 {
			t.Fatalf("held poll at the hold timeout: got %.300s, want return_code 1 and no message", r.body)
		}
		if el := time.Since(start); el < hold/2 {
			t.Errorf("held poll answered after %v: got an early reply, want it held about %v", el, hold)
		}
	})
}

// slowGet sends GET path to the front end on a connection with a small
// receive buffer, reads nothing for pause, then reads the whole reply and
// returns its body.
func slowGet(t testing.TB, front *frontEnd, path string, pause time.Duration) []byte {
	t.Helper()
	addr := strings.TrimPrefix(front.URL, "http://")
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slow GET %s: got status %d, want 200", path, resp.StatusCode)
	}
	return b
}

// TestTwoNodes runs the same flow through nginx in front of two nodes that
// share one Redis engine: a poll held by one node is released by a publish
// that nginx sent to the other.
func TestTwoNodes(t *testing.T) {
	rd := redis.Start(t)
	args := []string{"--enable-status", "--redis-url=" + rd.URL, "--http-timeout=" + strconv.Itoa(int(hold/time.Second))}
	a := server.Start(t, append(args, "--node-id=a")...)
	b := server.Start(t, append(args, "--node-id=b")...)
	front := startNginx(t, a.Addr, b.Addr)
	runFlow(t, front, []*server.Server{a, b})

	// A poll held through nginx on one node is released by a publish made
	// on the other node.
	t.Run("publish on the other node releases it", func(t *testing.T) {
		r := mustDo(t, "GET", front.URL+"/channels/news.json?since=0", nil)
		last := strconv.FormatInt(int64(r.decoded["last_id"].(float64)), 10)
		ch := poll(front.URL + "/channels/news.json?since=" + last)
		waitHeld(t, []*server.Server{a, b}, 1)
		other := b
		if held(t, []*server.Server{a}) == 0 {
			other = a
		}
		mustDo(t, "POST", other.URL+"/channels/news.json", url.Values{"content": {"across"}})
		got := await(t, ch, hold+5*time.Second)
		if l := messages(got, "news"); len(l) != 1 || l[0].(map[string]any)["content"] != "across" {
			t.Fatalf("held poll: got %.300s, want the message published on the other node", got.body)
		}
	})
}
