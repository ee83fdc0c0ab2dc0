package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.Main(m)) }

// holdSeconds is --http-timeout for the nodes: short, so that a test that
// waits for held polls never waits long.
const holdSeconds = 3

var httpc = &http.Client{
	Timeout:   (holdSeconds + 15) * time.Second, // a hang is a failure, not a stall
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// startCluster starts redis-server and n nodes sharing it.
func startCluster(t *testing.T, n int) (*redis.Server, []*server.Server) {
	t.Helper()
	r := redis.Start(t)
	var nodes []*server.Server
	for i := range n {
		nodes = append(nodes, server.Start(t,
			"--redis-url="+r.URL, "--redis-prefix=cluster:",
			fmt.Sprintf("--http-timeout=%d", holdSeconds),
			fmt.Sprintf("--node-id=node%d", i)))
	}
	return r, nodes
}

// reply is what the cluster tests read of an answer, decoded without
// failing so that goroutines can record it.
type reply struct {
	api.ReadReply
	MessageID  int64 `json:"message_id"`
	status     int
	retryAfter string
}

// call sends one request through httpc (a hang is a failure) and decodes
// the answer; it fails no test, so goroutines can use it.
func call(method, u string, form url.Values) (reply, error) {
	var ctype string
	var body []byte
	if form != nil {
		ctype, body = api.FormType, []byte(form.Encode())
	}
	rep, err := api.Try(context.Background(), httpc, u, method, "", ctype, body)
	if err != nil {
		return reply{}, err
	}
	var r reply
	if err := json.Unmarshal(rep.Body, &r); err != nil {
		return reply{}, fmt.Errorf("status %d body %q: %v", rep.Status, rep.Body, err)
	}
	r.status, r.retryAfter = rep.Status, rep.Header.Get("Retry-After")
	return r, nil
}

func register(t *testing.T, node *server.Server, channel string) {
	t.Helper()
	api.Register(t, node.URL, channel, "max_messages", "10000")
}

func publishURL(node *server.Server, channel string) string {
	return node.URL + "/channels/" + url.PathEscape(channel) + ".json"
}

func readURL(node *server.Server, channels []string, since int64) string {
	return fmt.Sprintf("%s/channels/%s.json?since=%d", node.URL, url.PathEscape(strings.Join(channels, "|")), since)
}

// sent is one acknowledged publish.
type sent struct {
	channel, content string
	id               int64
}

// subscriber polls a fixed set of channels, always with the previous
// last_id, and checks order as it goes.
type subscriber struct {
	name     string
	channels []string
	since    int64

	mu       sync.Mutex
	got      map[int64]sent // by id
	dups     []string
	disorder []string
	errs     []string
}

func newSubscriber(name string, channels []string, since int64) *subscriber {
	return &subscriber{name: name, channels: channels, since: since, got: make(map[int64]sent)}
}

// poll makes one read on node and records what it got. It returns whether
// the read was answered (an answer with -5 counts; a transport error does
// not).
func (s *subscriber) poll(node *server.Server) bool {
	r, err := call("GET", readURL(node, s.channels, s.since), nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs = append(s.errs, err.Error())
		return false
	}
	if r.ReturnCode == -5 {
		if r.status != http.StatusServiceUnavailable || r.retryAfter == "" {
			s.errs = append(s.errs, fmt.Sprintf("read -5 with status %d Retry-After %q, want 503 with Retry-After", r.status, r.retryAfter))
		}
		time.Sleep(50 * time.Millisecond)
		return true
	}
	if r.ReturnCode != 1 {
		s.errs = append(s.errs, fmt.Sprintf("read: got return_code %d, want 1", r.ReturnCode))
		return true
	}
	if r.LastID < s.since {
		s.disorder = append(s.disorder, fmt.Sprintf("last_id %d went below since %d", r.LastID, s.since))
	}
	for ch, ms := range r.Messages {
		prev := s.since
		for _, m := range ms {
			if m.ID <= prev {
				s.disorder = append(s.disorder, fmt.Sprintf("%s: id %d after %d", ch, m.ID, prev))
			}
			if m.ID > r.LastID {
				s.disorder = append(s.disorder, fmt.Sprintf("%s: id %d above last_id %d", ch, m.ID, r.LastID))
			}
			prev = m.ID
			if _, dup := s.got[m.ID]; dup {
				s.dups = append(s.dups, fmt.Sprintf("%s: id %d", ch, m.ID))
			}
			s.got[m.ID] = sent{channel: ch, content: m.Content, id: m.ID}
		}
	}
	s.since = max(s.since, r.LastID)
	return true
}

func (s *subscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// check compares what s received with what was acknowledged on its
// channels: all of it, nothing twice, in order; anything extra must be a
// publish whose outcome was unknown (maybe).
func (s *subscriber) check(t *testing.T, acked []sent, maybe map[string]bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := map[string]bool{}
	for _, c := range s.channels {
		mine[c] = true
	}
	want := 0
	var missing []string
	for _, m := range acked {
		if !mine[m.channel] {
			continue
		}
		want++
		g, ok := s.got[m.id]
		if !ok || g.content != m.content || g.channel != m.channel {
			missing = append(missing, fmt.Sprintf("%s/%d/%s (got %+v)", m.channel, m.id, m.content, g))
		}
	}
	delivered := 0
	for _, g := range s.got {
		if !maybe[g.content] {
			delivered++
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%s: got %d of %d acknowledged messages, want all; missing (first 5): %v", s.name, want-len(missing), want, missing[:min(5, len(missing))])
	}
	if delivered != want {
		t.Errorf("%s: got %d messages with acknowledged content, want %d", s.name, delivered, want)
	}
	if len(s.dups) > 0 {
		t.Errorf("%s: got %d duplicates, want none: %v", s.name, len(s.dups), s.dups[:min(5, len(s.dups))])
	}
	if len(s.disorder) > 0 {
		t.Errorf("%s: got ids out of order, want id order: %v", s.name, s.disorder[:min(5, len(s.disorder))])
	}
}
