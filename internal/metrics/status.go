package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// statusCollector reads the channel and client counts from the engine when
// scraped. The engine call is bounded by a timeout and its result reused
// for a short while, so that many scrapers cost one engine call. When the
// engine cannot answer, the gauges are left out of that scrape (a gap in
// the graph, not a false zero) and comet_status_errors_total counts it.
type statusCollector struct {
	engine  comet.Engine
	timeout time.Duration
	cache   time.Duration

	channels *prometheus.Desc
	clients  *prometheus.Desc
	errors   prometheus.Counter

	mu      sync.Mutex
	at      time.Time
	last    comet.EngineStatus
	lastErr error
}

func newStatusCollector(e comet.Engine, timeout, cache time.Duration) *statusCollector {
	if timeout <= 0 {
		timeout = time.Second
	}
	if cache <= 0 {
		cache = 2 * time.Second
	}
	return &statusCollector{
		engine: e, timeout: timeout, cache: cache,
		channels: prometheus.NewDesc(Namespace+"_channels", "Registered channels (cluster-wide, reserved channels excluded).", nil, nil),
		clients:  prometheus.NewDesc(Namespace+"_clients", "Registered clients (cluster-wide).", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "status_errors_total",
			Help: "Scrapes in which the engine could not report the channel and client counts.",
		}),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.channels
	ch <- c.clients
	c.errors.Describe(ch)
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.status()
	if err == nil {
		ch <- prometheus.MustNewConstMetric(c.channels, prometheus.GaugeValue, float64(st.ChannelsCount))
		ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(st.ClientsCount))
	}
	c.errors.Collect(ch)
}

// status returns the cached counts or asks the engine. The lock is held
// across the (bounded) engine call on purpose: concurrent scrapes wait for
// one call instead of each making their own.
func (c *statusCollector) status() (comet.EngineStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.cache {
		return c.last, c.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.engine.Status(ctx, 0)
	if err != nil {
		c.errors.Inc()
	}
	c.at, c.last, c.lastErr = time.Now(), st, err
	return st, err
}
