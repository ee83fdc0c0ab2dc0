package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// PublishOptions: C publishers, no subscribers, until Count publishes in
// all or Duration has passed. Channels: how many channels they spread over
// (each publisher i uses channel i mod Channels).
type PublishOptions struct {
	Publishers int
	Count      int
	Duration   time.Duration
	Channels   int
	Size       int
}

// Publish runs the publish scenario.
func Publish(e *Env, o PublishOptions) *Result {
	o.Channels = max(o.Channels, 1)
	r := newResult("publish", e, map[string]any{"publishers": o.Publishers, "count": o.Count, "duration_s": o.Duration.Seconds(), "channels": o.Channels, "size": o.Size})
	prep := NewConn(e.Addr, "")
	for i := range o.Channels {
		if err := e.Proto.Prepare(prep, fmt.Sprintf("%spub%d", e.Prefix, i)); err != nil {
			r.errorf("prepare: %v", err)
			return r
		}
	}
	prep.Close()
	var left atomic.Int64
	left.Store(int64(o.Count))
	deadline := time.Now().Add(o.Duration)
	lats := make([][]int64, o.Publishers)
	errs := make([]int, o.Publishers)
	var wg sync.WaitGroup
	cpu0, _ := e.Procs.Sample()
	start := time.Now()
	for i := range o.Publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewConn(e.Addr, e.source(i))
			defer c.Close()
			ch := fmt.Sprintf("%spub%d", e.Prefix, i%o.Channels)
			for left.Add(-1) >= 0 && time.Now().Before(deadline) {
				t := time.Now()
				if err := e.Proto.Publish(c, ch, Content(0, t, o.Size)); err != nil {
					errs[i]++
					continue
				}
				lats[i] = append(lats[i], int64(time.Since(t)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := e.Procs.Sample()
	var all []int64
	nerr := 0
	for i := range lats {
		all = append(all, lats[i]...)
		nerr += errs[i]
	}
	p50, _, p99, mx := percentiles(all)
	m := r.Metrics
	m["publishes"] = float64(len(all))
	m["publishes_per_s"] = float64(len(all)) / elapsed.Seconds()
	m["latency_p50_ms"], m["latency_p99_ms"], m["latency_max_ms"] = p50, p99, mx
	m["errors"] = float64(nerr)
	if len(all) > 0 && len(e.Procs.Roots) > 0 {
		m["cpu_us_per_publish"] = float64((cpu1.CPU - cpu0.CPU).Microseconds()) / float64(len(all))
	}
	return r
}
