package main

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutOptions: S subscribers long-poll one channel while a publisher sends
// M messages at R per second; Churners more clients meanwhile connect, poll
// for up to ChurnHold and hang up, over and over.
type FanoutOptions struct {
	Subscribers int
	Messages    int
	Rate        float64 // messages per second
	Size        int     // message bytes
	Churners    int
	ChurnHold   time.Duration
	// SampleEvery > 0 records the server's memory and goroutines over time.
	SampleEvery time.Duration
	// Grace is how long subscribers may still wait after the last publish.
	Grace time.Duration
}

type subscriber struct {
	got     []bool
	count   int
	dups    int
	lats    []int64
	errors  int
	lastErr error
}

// runSubscriber polls channel until it has every one of m messages or
// the deadline passes. started is marked once the first poll is sent.
func runSubscriber(e *Env, src, channel string, m int, deadline func() time.Time, started *sync.WaitGroup) *subscriber {
	s := &subscriber{got: make([]bool, m), lats: make([]int64, 0, m)}
	c := NewConn(e.Addr, src)
	defer c.Close()
	cur := Cursor{}
	first := true
	for s.count < m {
		left := time.Until(deadline())
		if left <= 0 {
			break
		}
		err := e.Proto.PollRequest(c, []string{channel}, &cur)
		if first {
			started.Done()
			first = false
		}
		var msgs []string
		if err == nil {
			msgs, err = e.Proto.PollAnswer(c, &cur, left+time.Second)
		}
		now := time.Now().UnixNano()
		if err != nil {
			s.errors++
			s.lastErr = err
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, txt := range msgs {
			seq, at, ok := ParseContent(txt)
			if !ok || seq < 0 || seq >= m {
				continue
			}
			if s.got[seq] {
				s.dups++
				continue
			}
			s.got[seq] = true
			s.count++
			s.lats = append(s.lats, now-at)
		}
	}
	if first {
		started.Done()
	}
	return s
}

// churn runs until stop: connect, poll channel, hang up after a random
// time up to hold. It returns how many polls were abandoned so.
func churn(e *Env, src, channel string, hold time.Duration, stop <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-stop:
			return n
		default:
		}
		c := NewConn(e.Addr, src)
		// From the newest message on, so the poll is held, not answered
		// with the retained ones (nchan: first_message newest).
		cur := Cursor{Since: math.MaxInt64}
		if err := e.Proto.PollRequest(c, []string{channel}, &cur); err == nil {
			d := time.Duration(rand.Int64N(int64(hold))) + time.Millisecond
			_, _ = e.Proto.PollAnswer(c, &cur, d) // usually times out: hang up
			n++
		} else {
			time.Sleep(10 * time.Millisecond)
		}
		c.Close()
	}
}

// publishConns is how many publishes fan-out keeps in flight at most.
const publishConns = 8

// Fanout runs the fan-out scenario (with churn and sampling when asked) and
// reports under the given scenario name.
func Fanout(e *Env, scenario string, o FanoutOptions) *Result {
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	r := newResult(scenario, e, map[string]any{"subscribers": o.Subscribers, "messages": o.Messages, "rate": o.Rate, "size": o.Size, "churners": o.Churners})
	channel := e.Prefix + "fan"
	pub := NewConn(e.Addr, "")
	defer pub.Close()
	if err := e.Proto.Prepare(pub, channel); err != nil {
		r.errorf("prepare: %v", err)
		return r
	}
	e.GC()
	before, _ := e.Procs.Sample()
	gBefore := e.Goroutines()
	t0 := time.Now()

	var deadlineNs atomic.Int64
	publishFor := time.Duration(float64(o.Messages)/o.Rate*float64(time.Second)) + 30*time.Second
	deadlineNs.Store(time.Now().Add(publishFor + o.Grace).UnixNano())
	deadline := func() time.Time { return time.Unix(0, deadlineNs.Load()) }

	var started, done sync.WaitGroup
	subs := make([]*subscriber, o.Subscribers)
	started.Add(o.Subscribers)
	for i := range subs {
		done.Add(1)
		go func() {
			defer done.Done()
			subs[i] = runSubscriber(e, e.source(i), channel, o.Messages, deadline, &started)
		}()
	}
	started.Wait()
	if _, err := e.WaitHeld(o.Subscribers, 60*time.Second, 2*time.Second); err != nil {
		r.errorf("%v", err)
	}

	stopChurn := make(chan struct{})
	var churnWG sync.WaitGroup
	var churned atomic.Int64
	for i := range o.Churners {
		churnWG.Add(1)
		go func() {
			defer churnWG.Done()
			churned.Add(int64(churn(e, e.source(o.Subscribers+i), channel, o.ChurnHold, stopChurn)))
		}()
	}
	stopSampling := make(chan struct{})
	var sampleWG sync.WaitGroup
	if o.SampleEvery > 0 {
		sampleWG.Add(1)
		go func() {
			defer sampleWG.Done()
			sc := NewConn(e.Addr, "")
			defer sc.Close()
			r.Series = append(r.Series, e.sample(t0, sc))
			t := time.NewTicker(o.SampleEvery)
			defer t.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-t.C:
					r.Series = append(r.Series, e.sample(t0, sc))
				}
			}
		}()
	}

	// The publisher keeps to its rate whatever the server's answers take
	// (open loop): each message goes out on time on a free one of
	// publishConns connections, so that a server slow to answer publishes
	// is not offered fewer messages per second than one quick to answer.
	pool := make(chan *Conn, publishConns)
	pool <- pub
	for range publishConns - 1 {
		c := NewConn(e.Addr, "")
		defer c.Close()
		pool <- c
	}
	cpu0, _ := e.Procs.Sample()
	pubStart := time.Now()
	every := time.Duration(float64(time.Second) / o.Rate)
	var pubMu sync.Mutex
	var pubWG sync.WaitGroup
	pubErrs, late := 0, time.Duration(0)
	for i := range o.Messages {
		next := pubStart.Add(time.Duration(i) * every)
		time.Sleep(time.Until(next))
		c := <-pool // all busy: this message goes out late
		late = max(late, time.Since(next))
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			err := e.Proto.Publish(c, channel, Content(i, time.Now(), o.Size))
			pool <- c
			if err != nil {
				pubMu.Lock()
				pubErrs++
				r.errorf("publish %d: %v", i, err)
				pubMu.Unlock()
			}
		}()
	}
	pubWG.Wait()
	pubSpan := time.Since(pubStart)
	deadlineNs.Store(time.Now().Add(o.Grace).UnixNano())
	done.Wait()
	cpu1, _ := e.Procs.Sample()
	close(stopChurn)
	churnWG.Wait()
	close(stopSampling)
	sampleWG.Wait()

	var lats []int64
	deliveries, missed, dups, errs, missers := 0, 0, 0, 0, 0
	for _, s := range subs {
		deliveries += s.count
		dups += s.dups
		errs += s.errors
		if s.count < o.Messages {
			missers++
			missed += o.Messages - s.count
		}
		if s.lastErr != nil {
			r.errorf("subscriber: %v", s.lastErr)
		}
		lats = append(lats, s.lats...)
	}
	p50, p90, p99, mx := percentiles(lats)
	span := time.Since(pubStart).Seconds()
	m := r.Metrics
	m["deliveries"] = float64(deliveries)
	m["deliveries_per_s"] = float64(deliveries) / span
	m["latency_p50_ms"], m["latency_p90_ms"], m["latency_p99_ms"], m["latency_max_ms"] = p50, p90, p99, mx
	m["missed"] = float64(missed)
	m["subscribers_missing"] = float64(missers)
	m["duplicates"] = float64(dups)
	m["subscriber_errors"] = float64(errs)
	m["publish_errors"] = float64(pubErrs)
	// The rate offered: M messages over the time they took to publish
	// (the last one's answer included), and the most any went out late.
	m["publish_rate"] = float64(o.Messages) / pubSpan.Seconds()
	m["publish_late_max_ms"] = float64(late.Microseconds()) / 1000
	if deliveries > 0 && len(e.Procs.Roots) > 0 {
		m["cpu_us_per_delivery"] = float64((cpu1.CPU - cpu0.CPU).Microseconds()) / float64(deliveries)
	}
	if o.Churners > 0 {
		m["churned_polls"] = float64(churned.Load())
		e.settle(pub)
		after, _ := e.Procs.Sample()
		m["rss_before_mb"], m["rss_after_mb"] = mb(before.RSS), mb(after.RSS)
		m["rss_growth_mb"] = mb(after.RSS - before.RSS)
		m["threads_before"], m["threads_after"] = float64(before.Threads), float64(after.Threads)
		if g := e.Goroutines(); g >= 0 && gBefore >= 0 {
			m["goroutines_before"], m["goroutines_after"] = float64(gBefore), float64(g)
		}
	}
	if n := len(r.Series); n >= 2 {
		first := r.Series[min(1, n-1)] // after the subscribers connected
		last := r.Series[n-1]
		m["soak_rss_growth_mb"] = mb(last.RSS - first.RSS)
		if first.Goroutines >= 0 {
			m["soak_goroutine_growth"] = float64(last.Goroutines - first.Goroutines)
		}
	}
	return r
}

// settle waits until the server holds no polls (bounded) and collects
// garbage, so that a reading after a run compares with the one before.
func (e *Env) settle(c *Conn) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if h, err := e.Proto.Held(c); err != nil || h <= 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	e.GC()
}

func (e *Env) sample(t0 time.Time, c *Conn) Sample {
	p, _ := e.Procs.Sample()
	h, _ := e.Proto.Held(c)
	return Sample{T: time.Since(t0).Seconds(), RSS: p.RSS, PSS: p.PSS, Threads: p.Threads, Goroutines: e.Goroutines(), Held: h}
}
