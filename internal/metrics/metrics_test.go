package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

// gather returns every sample of reg as "name{k=v,...}" -> value.
func gather(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func want(t testing.TB, got map[string]float64, key string, v float64) {
	t.Helper()
	g, ok := got[key]
	if !ok {
		t.Fatalf("got no sample %s, want %v", key, v)
	}
	if g != v {
		t.Errorf("%s: got %v, want %v", key, g, v)
	}
}

func newEngine(t testing.TB, hub *comet.Hub) comet.Engine {
	e := memengine.New(memengine.Options{DefaultMaxMessages: 10}, hub)
	t.Cleanup(func() { e.Close() })
	return e
}

func TestObserverCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := comet.NewHub(0)
	m := New(reg, Options{Held: hub.Held, Engine: newEngine(t, hub)})

	got := gather(t, reg)
	for _, r := range []string{"message", "timeout", "delete", "shutdown", "engine_down", "resync", "gone"} {
		want(t, got, "comet_wakeups_total{reason="+r+"}", 0)
	}
	want(t, got, "comet_publishes_total", 0)

	m.Published()
	m.Published()
	m.Answered(comet.WakeNone, 3)    // at once: a read, not a wake-up
	m.Answered(comet.WakeMessage, 2) // held, woken by a message
	m.Answered(comet.WakeTimeout, 0)
	m.Answered(comet.WakeDeleted, 0)
	m.Answered(comet.WakeGone, 0) // left: no read answered
	m.Request("channel", 200, 3*time.Millisecond)
	m.Request("channel", 499, time.Second)
	m.Request("channels", 503, time.Millisecond)

	got = gather(t, reg)
	want(t, got, "comet_publishes_total", 2)
	want(t, got, "comet_deliveries_total", 5)
	want(t, got, "comet_reads_total", 4)
	want(t, got, "comet_wakeups_total{reason=message}", 1)
	want(t, got, "comet_wakeups_total{reason=timeout}", 1)
	want(t, got, "comet_wakeups_total{reason=delete}", 1)
	want(t, got, "comet_wakeups_total{reason=gone}", 1)
	want(t, got, "comet_wakeups_total{reason=shutdown}", 0)
	want(t, got, "comet_request_duration_seconds{resource=channel}_count", 2)
	want(t, got, "comet_responses_total{code=2xx,resource=channel}", 1)
	want(t, got, "comet_responses_total{code=499,resource=channel}", 1)
	want(t, got, "comet_responses_total{code=5xx,resource=channels}", 1)
}

func TestHeldAndStatusGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := comet.NewHub(0)
	e := newEngine(t, hub)
	New(reg, Options{Held: hub.Held, Engine: e, StatusCache: time.Nanosecond})
	ctx := context.Background()
	if err := e.RegisterChannel(ctx, "a", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterChannel(ctx, comet.StatusChannel, comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterClient(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	p := comet.NewPoll([]string{"a"}, "", false)
	if err := hub.Add(p); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	want(t, got, "comet_held_polls", 1)
	want(t, got, "comet_channels", 1) // $status is not counted
	want(t, got, "comet_clients", 1)
	hub.Remove(p)
	want(t, gather(t, reg), "comet_held_polls", 0)
}

// failingEngine is a memory engine whose reads fail as if unreachable.
type failingEngine struct{ comet.Engine }

func (failingEngine) Read(context.Context, comet.ReadQuery) (comet.ReadResult, error) {
	return comet.ReadResult{}, errors.Join(comet.ErrUnavailable, errors.New("connection refused"))
}

func (failingEngine) Status(context.Context, int) (comet.EngineStatus, error) {
	return comet.EngineStatus{}, comet.ErrUnavailable
}

func TestEngineErrorsCountFaultsOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := comet.NewHub(0)
	raw := failingEngine{newEngine(t, hub)}
	m := New(reg, Options{Held: hub.Held, Engine: raw})
	e := m.Engine(raw)
	ctx := context.Background()

	if _, err := e.Publish(ctx, "nope", "x"); !errors.Is(err, comet.ErrNoChannel) {
		t.Fatalf("got %v, want ErrNoChannel", err)
	}
	if err := e.RegisterChannel(ctx, "a", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterChannel(ctx, "a", comet.ChannelOptions{}); !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("got %v, want ErrChannelExists", err)
	}
	for range 2 {
		if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"a"}}); !errors.Is(err, comet.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	got := gather(t, reg)
	want(t, got, "comet_engine_errors_total{op=read}", 2)
	want(t, got, "comet_engine_errors_total{op=publish}", 0)
	want(t, got, "comet_engine_errors_total{op=register_channel}", 0)
	// The engine cannot give its counts: the gauges are left out, not zero.
	if _, ok := got["comet_channels"]; ok {
		t.Errorf("got a comet_channels sample while the engine is down, want none")
	}
	want(t, got, "comet_status_errors_total", 1)
}

func TestStatusIsCached(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := comet.NewHub(0)
	e := newEngine(t, hub)
	New(reg, Options{Engine: e, StatusCache: time.Hour})
	want(t, gather(t, reg), "comet_channels", 0)
	if err := e.RegisterChannel(context.Background(), "a", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	want(t, gather(t, reg), "comet_channels", 0) // still the cached count
}

func TestNoChannelOrClientLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := comet.NewHub(0)
	m := New(reg, Options{Held: hub.Held, Engine: newEngine(t, hub), Runtime: true})
	m.Request("channel", 200, time.Millisecond)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"resource": true, "code": true, "reason": true, "op": true}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "comet_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("got metric %s, want a comet_, go_ or process_ name", name)
		}
		if !strings.HasPrefix(name, "comet_") {
			continue
		}
		if mf.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s: got no _total suffix, want one", name)
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if !allowed[l.GetName()] {
					t.Errorf("%s: got label %q, want only %v", name, l.GetName(), allowed)
				}
			}
		}
	}
	got := gather(t, reg)
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("got no go_goroutines, want the Go runtime collector")
	}
}
