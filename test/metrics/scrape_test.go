package metrics_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// scrape reads the exposition text at u into "name{labels}" -> value.
func scrape(t testing.TB, u string, hdr ...string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: got status %d (%s), want 200", u, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
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

func call(t testing.TB, method, u string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: decoding: %v", method, u, err)
	}
	return out
}

// hold starts a read of channel a newer than since; its reply arrives on
// the returned channel.
func hold(t testing.TB, base string, since int64) <-chan map[string]any {
	t.Helper()
	ch := make(chan map[string]any, 1)
	go func() {
		resp, err := http.Get(base + "/channels/a.json?since=" + strconv.FormatInt(since, 10))
		if err != nil {
			ch <- map[string]any{"error": err.Error()}
			return
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		ch <- out
	}()
	return ch
}

func reply(t testing.TB, ch <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("got no reply to the held poll within 15s, want one")
		return nil
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
	call(t, "POST", s.URL+"/channels.json", url.Values{"channel_id": {"a"}})
	call(t, "POST", s.URL+"/clients.json", url.Values{"client_id": {"c1"}})
	r := call(t, "POST", s.URL+"/channels/a.json", url.Values{"content": {"one"}})
	last := int64(r["message_id"].(float64))
	got := scrape(t, m)
	if d := got["comet_publishes_total"] - before["comet_publishes_total"]; d != 1 {
		t.Errorf("comet_publishes_total moved by %v after one publish, want 1", d)
	}
	// The counts are cached for a couple of seconds between scrapes.
	waitFor(t, m, "comet_channels", 1)
	waitFor(t, m, "comet_clients", 1)

	t.Run("message", func(t *testing.T) {
		ch := hold(t, s.URL, last)
		waitFor(t, m, "comet_held_polls", 1)
		r := call(t, "POST", s.URL+"/channels/a.json", url.Values{"content": {"two"}})
		last = int64(r["message_id"].(float64))
		if got := reply(t, ch); len(got["messages"].(map[string]any)["a"].([]any)) != 1 {
			t.Fatalf("got reply %v, want the one new message", got)
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
		ch := hold(t, s.URL, last)
		waitFor(t, m, "comet_held_polls", 1)
		reply(t, ch)
		after := waitFor(t, m, "comet_held_polls", 0)
		if after[wakeTimeout] != before[wakeTimeout]+1 {
			t.Errorf("%s: got %v, want %v", wakeTimeout, after[wakeTimeout], before[wakeTimeout]+1)
		}
	})
	t.Run("delete", func(t *testing.T) {
		ch := hold(t, s.URL, last)
		waitFor(t, m, "comet_held_polls", 1)
		call(t, "DELETE", s.URL+"/channels/a.json", nil)
		reply(t, ch)
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
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"return_code":-4`) {
		t.Errorf("/metrics without the secret: got %s, want return_code -4", b)
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
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the API address: got status %d, want 404", resp.StatusCode)
	}
	// Answered as on the API address: HTTP 200 with return_code -4.
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"return_code":-4`) {
		t.Errorf("%s without the secret: got status %d %s, want 200 with return_code -4", u, resp.StatusCode, b)
	}
	got := scrape(t, u, "Authorization", "Bearer s3cr3t")
	if _, ok := got["comet_publishes_total"]; !ok {
		t.Errorf("got no comet_publishes_total on %s, want it", u)
	}
}
