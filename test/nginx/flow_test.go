//go:build unix

package nginx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/testutil/api"
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

// held sums the polls held on the nodes, read from their own status.
func held(t testing.TB, nodes []*server.Server) int64 {
	t.Helper()
	var n int64
	for _, s := range nodes {
		n += api.Held(t, s.URL)
	}
	return n
}

func waitHeld(t testing.TB, nodes []*server.Server, want int64) {
	t.Helper()
	api.Eventually(t, fmt.Sprintf("%d held polls on the nodes", want), 10*time.Second, func() bool { return held(t, nodes) == want })
}

// poll starts a read of path on base that the server holds.
func poll(base, path string) <-chan api.Result {
	return api.Async(context.Background(), base, http.MethodGet, path)
}

// newsOf decodes a read reply's body (which came from where) and returns
// the messages of channel news in their generic form, to compare two
// replies field by field, and its last_id.
func newsOf(t testing.TB, where string, body []byte) ([]any, int64) {
	t.Helper()
	var m struct {
		LastID   int64            `json:"last_id"`
		Messages map[string][]any `json:"messages"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: got %d bytes that are not JSON (%v), want a read reply", where, len(body), err)
	}
	return m.Messages["news"], m.LastID
}

// runFlow runs the long-polling flow through front, whose upstream is nodes.
func runFlow(t *testing.T, front *frontEnd, nodes []*server.Server) {
	f := front.URL
	t.Run("client and health", func(t *testing.T) {
		r := api.Get(t, f, "/simple-comet.min.js").WantStatus(t, http.StatusOK)
		if !bytes.Equal(r.Body, client.Minified) {
			t.Errorf("/simple-comet.min.js through nginx: got %d bytes that differ, want the embedded client (%d bytes)", len(r.Body), len(client.Minified))
		}
		if r := api.Get(t, f, "/health").WantStatus(t, http.StatusOK); string(r.Body) != `{"ok":true}` {
			t.Errorf("/health: got %s, want {\"ok\":true}", r.Body)
		}
	})

	api.Register(t, f, "news")
	api.Publish(t, f, "news", "first")
	r := api.Get(t, f, "/channels/news.json?since=0")
	rr := r.Read(t)
	if l := rr.Messages["news"]; len(l) != 1 {
		t.Fatalf("read: got %s, want the first message", r.Body)
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("read through nginx: got Access-Control-Allow-Origin %q, want *", got)
	}
	last := rr.LastID

	t.Run("publish releases a held poll", func(t *testing.T) {
		for i := range 3 {
			ch := poll(f, "/channels/news.json?since="+strconv.FormatInt(last, 10))
			waitHeld(t, nodes, 1)
			content := "released " + strconv.Itoa(i)
			start := time.Now()
			api.Publish(t, f, "news", content)
			r := api.Wait(t, ch, hold+5*time.Second)
			// Not a timing assertion: a poll answered by the hold timeout
			// has no message; this one must carry the publish.
			rr := r.Read(t)
			l := rr.Messages["news"]
			if len(l) != 1 || l[0].Content != content {
				t.Fatalf("held poll after %v: got %d %.300s, want the message %q", time.Since(start), r.Status, r.Body, content)
			}
			last = rr.LastID
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
			api.Publish(t, f, "news", big)
		}
		u := "/channels/news.json?since=" + strconv.FormatInt(last, 10)
		via := slowGet(t, front, u, 2*time.Second)
		direct := api.Get(t, nodes[0].URL, u).WantStatus(t, http.StatusOK)
		got, gotLast := newsOf(t, "through nginx", via)
		want, _ := newsOf(t, "from the node", direct.Body)
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if len(got) != n || !bytes.Equal(a, b) {
			t.Fatalf("through nginx: got %d messages (%d bytes), want the node's %d (%d bytes)", len(got), len(a), len(want), len(b))
		}
		last = gotLast
		log, _ := os.ReadFile(filepath.Join(front.Dir, "error.log"))
		if strings.Contains(string(log), "upstream response is buffered") {
			t.Errorf("nginx error.log: got %q, want no upstream response spooled to disk", "upstream response is buffered")
		}
	})

	t.Run("hold timeout passes through", func(t *testing.T) {
		start := time.Now()
		r := api.Wait(t, poll(f, "/channels/news.json?since="+strconv.FormatInt(last, 10)), hold+10*time.Second)
		if r.Status != http.StatusOK {
			t.Fatalf("held poll at the hold timeout: got status %d (%s), want 200", r.Status, r.Body)
		}
		if rr := r.Read(t); len(rr.Messages["news"]) != 0 {
			t.Fatalf("held poll at the hold timeout: got %.300s, want return_code 1 and no message", r.Body)
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
		last := strconv.FormatInt(api.Get(t, front.URL, "/channels/news.json?since=0").Read(t).LastID, 10)
		ch := poll(front.URL, "/channels/news.json?since="+last)
		waitHeld(t, []*server.Server{a, b}, 1)
		other := b
		if held(t, []*server.Server{a}) == 0 {
			other = a
		}
		api.Publish(t, other.URL, "news", "across")
		got := api.Wait(t, ch, hold+5*time.Second)
		if l := got.Read(t).Messages["news"]; len(l) != 1 || l[0].Content != "across" {
			t.Fatalf("held poll: got %.300s, want the message published on the other node", got.Body)
		}
	})
}
