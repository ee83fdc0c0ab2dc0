package metrics

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// scrape reads the exposition text at u into "name{labels}" -> value.
func scrape(t testing.TB, u string, hdr ...string) map[string]float64 {
	t.Helper()
	r := api.Do(t, u, http.MethodGet, "", "", nil, hdr...)
	if r.Status != http.StatusOK {
		t.Fatalf("scrape %s: got status %d (%s), want 200", u, r.Status, r.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unparseable sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// waitFor scrapes until key has value v (bounded: 10s).
func waitFor(t testing.TB, u, key string, v float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrape(t, u)
		if got[key] == v {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %v, want %v (waited 10s)", key, got[key], v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScrapeMovesWithTraffic(t *testing.T) {
	s := server.Start(t, "--enable-metrics", "--http-timeout=1")
	m := s.URL + "/metrics"
	const wakeMsg, wakeTimeout, wakeDelete = `comet_wakeups_total{reason="message"}`, `comet_wakeups_total{reason="timeout"}`, `comet_wakeups_total{reason="delete"}`

	before := scrape(t, m)
	for _, k := range []string{"comet_publishes_total", "comet_held_polls", "comet_channels", "comet_clients", wakeMsg, "go_goroutines", "process_open_fds"} {
		if _, ok := before[k]; !ok {
			t.Fatalf("got no %s in the scrape, want it", k)
		}
	}
	api.Register(t, s.URL, "a")
	api.RegisterClient(t, s.URL, "c1")
	last := api.Publish(t, s.URL, "a", "one")
	got := scrape(t, m)
	if d := got["comet_publishes_total"] - before["comet_publishes_total"]; d != 1 {
		t.Errorf("comet_publishes_total moved by %v after one publish, want 1", d)
	}
	// The counts are cached for a couple of seconds between scrapes.
	waitFor(t, m, "comet_channels", 1)
	waitFor(t, m, "comet_clients", 1)

	t.Run("message", func(t *testing.T) {
		ch := api.Async(t.Context(), s.URL, http.MethodGet, "/channels/a.json?since="+strconv.FormatInt(last, 10))
		waitFor(t, m, "comet_held_polls", 1)
		last = api.Publish(t, s.URL, "a", "two")
		if got := api.Wait(t, ch, 15*time.Second); len(got.Read(t).Messages["a"]) != 1 {
			t.Fatalf("got reply %s, want the one new message", got.Body)
		}
		after := waitFor(t, m, "comet_held_polls", 0)
		if after[wakeMsg] != before[wakeMsg]+1 {
			t.Errorf("%s: got %v, want %v", wakeMsg, after[wakeMsg], before[wakeMsg]+1)
		}
		if d := after["comet_deliveries_total"] - before["comet_deliveries_total"]; d != 1 {
			t.Errorf("comet_deliveries_total moved by %v, want 1", d)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ch := api.Async(t.Context(), s.URL, http.MethodGet, "/channels/a.json?since="+strconv.FormatInt(last, 10))
		waitFor(t, m, "comet_held_polls", 1)
		api.Wait(t, ch, 15*time.Second)
		after := waitFor(t, m, "comet_held_polls", 0)
		if after[wakeTimeout] != before[wakeTimeout]+1 {
			t.Errorf("%s: got %v, want %v", wakeTimeout, after[wakeTimeout], before[wakeTimeout]+1)
		}
	})
	t.Run("delete", func(t *testing.T) {
		ch := api.Async(t.Context(), s.URL, http.MethodGet, "/channels/a.json?since="+strconv.FormatInt(last, 10))
		waitFor(t, m, "comet_held_polls", 1)
		api.Delete(t, s.URL, "/channels/a.json").Obj(t)
		api.Wait(t, ch, 15*time.Second)
		after := waitFor(t, m, "comet_held_polls", 0)
		if after[wakeDelete] != before[wakeDelete]+1 {
			t.Errorf("%s: got %v, want %v", wakeDelete, after[wakeDelete], before[wakeDelete]+1)
		}
	})
	got = scrape(t, m)
	if c := got[`comet_request_duration_seconds_count{resource="channel"}`]; c < 4 {
		t.Errorf(`comet_request_duration_seconds_count{resource="channel"}: got %v, want at least 4`, c)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.Log())
	}
}

func TestMetricsNeedTheSecret(t *testing.T) {
	s := server.Start(t, "--enable-metrics", "--secret=s3cr3t")
	if r := api.Get(t, s.URL, "/metrics"); r.Code(t) != -4 {
		t.Errorf("/metrics without the secret: got %s, want return_code -4", r.Body)
	}
	scrape(t, s.URL+"/metrics?secret=s3cr3t")
	scrape(t, s.URL+"/metrics", "Authorization", "Bearer s3cr3t")
}

var metricsAddrRE = regexp.MustCompile(`metrics served at (http://\S+/metrics)`)

func TestMetricsAddrServesSeparately(t *testing.T) {
	s := server.Start(t, "--metrics-addr=127.0.0.1:0", "--secret=s3cr3t")
	var u string
	deadline := time.Now().Add(10 * time.Second)
	for u == "" {
		if mm := metricsAddrRE.FindStringSubmatch(s.Log()); mm != nil {
			u = mm[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("got no 'metrics served at' log line, want one\n%s", s.Log())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if st := api.Get(t, s.URL, "/metrics").Status; st != http.StatusNotFound {
		t.Errorf("/metrics on the API address: got status %d, want 404", st)
	}
	// Answered as on the API address: HTTP 200 with return_code -4.
	if r := api.Get(t, u, ""); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"return_code":-4`) {
		t.Errorf("%s without the secret: got status %d %s, want 200 with return_code -4", u, r.Status, r.Body)
	}
	got := scrape(t, u, "Authorization", "Bearer s3cr3t")
	if _, ok := got["comet_publishes_total"]; !ok {
		t.Errorf("got no comet_publishes_total on %s, want it", u)
	}
}
