package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Namespace starts every metric name.
const Namespace = "comet"

// durationBuckets span an answered-at-once request (sub-millisecond) to a
// poll held for a long --http-timeout.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120}

// Options configure New.
type Options struct {
	// Held reports the polls held now (comet.Hub.Held).
	Held func() int
	// Engine is asked for the channel and client counts at scrape time; nil
	// leaves those gauges out.
	Engine comet.Engine
	// StatusTimeout bounds the engine call of a scrape (default 1s).
	StatusTimeout time.Duration
	// StatusCache is how long counts are reused between scrapes (default 2s).
	StatusCache time.Duration
	// Runtime adds the Go runtime and process collectors.
	Runtime bool
}

// Metrics holds the collectors. It implements httpapi.Observer.
type Metrics struct {
	reg        *prometheus.Registry
	publishes  prometheus.Counter
	deliveries prometheus.Counter
	reads      prometheus.Counter
	wakeups    *prometheus.CounterVec
	wakeByRsn  []prometheus.Counter // indexed by comet.WakeReason
	requests   *prometheus.HistogramVec
	responses  *prometheus.CounterVec
	engineErrs *prometheus.CounterVec
}

// New registers the collectors on reg.
func New(reg *prometheus.Registry, o Options) *Metrics {
	m := &Metrics{
		reg: reg,
		publishes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "publishes_total",
			Help: "Messages stored by publish requests on this node.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_total",
			Help: "Messages delivered in answered reads on this node.",
		}),
		reads: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "reads_total",
			Help: "Reads answered (at once or after a hold) on this node.",
		}),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "wakeups_total",
			Help: "Held polls that ended, by reason (message, timeout, delete, shutdown, engine_down, resync, gone).",
		}, []string{"reason"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, holds included, by resource.",
			Buckets: durationBuckets,
		}, []string{"resource"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "responses_total",
			Help: "Answered requests by resource and HTTP status class (2xx, 4xx, 5xx; 499: the client left).",
		}, []string{"resource", "code"}),
		engineErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "engine_errors_total",
			Help: "Engine calls that failed because the engine could not be reached, by operation.",
		}, []string{"op"}),
	}
	// Every reason is present from the start, at 0, so rate() works at once.
	m.wakeByRsn = make([]prometheus.Counter, comet.WakeGone+1)
	for r := comet.WakeMessage; r <= comet.WakeGone; r++ {
		m.wakeByRsn[r] = m.wakeups.WithLabelValues(r.String())
	}
	for _, op := range engineOps {
		m.engineErrs.WithLabelValues(op)
	}
	reg.MustRegister(m.publishes, m.deliveries, m.reads, m.wakeups, m.requests, m.responses, m.engineErrs)
	if o.Held != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "held_polls",
			Help: "Polls held on this node now.",
		}, func() float64 { return float64(o.Held()) }))
	}
	if o.Engine != nil {
		reg.MustRegister(newStatusCollector(o.Engine, o.StatusTimeout, o.StatusCache))
	}
	if o.Runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request (httpapi.Observer).
func (m *Metrics) Request(res string, status int, d time.Duration) {
	m.requests.WithLabelValues(res).Observe(d.Seconds())
	m.responses.WithLabelValues(res, statusClass(status)).Inc()
}

// Published records one stored message (httpapi.Observer).
func (m *Metrics) Published() { m.publishes.Inc() }

// Answered records one answered read and the messages it delivered
// (httpapi.Observer). A read answered at once (WakeNone) is not a wake-up.
func (m *Metrics) Answered(reason comet.WakeReason, messages int) {
	if reason != comet.WakeGone {
		m.reads.Inc()
		m.deliveries.Add(float64(messages))
	}
	if reason == comet.WakeNone {
		return
	}
	if int(reason) < len(m.wakeByRsn) && m.wakeByRsn[reason] != nil {
		m.wakeByRsn[reason].Inc()
		return
	}
	m.wakeups.WithLabelValues(reason.String()).Inc()
}

// statusClass keeps the label set small: 2xx, 3xx, 4xx, 5xx, and 499 (the
// client left before an answer).
func statusClass(code int) string {
	if code == 499 {
		return "499"
	}
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
