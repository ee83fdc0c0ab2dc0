package livestatus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Snapshot is one status message, as the page receives it.
type Snapshot struct {
	Node              string  `json:"node"`
	TS                int64   `json:"ts"` // Unix milliseconds
	IntervalSeconds   float64 `json:"interval_seconds"`
	Channels          int     `json:"channels"` // cluster-wide
	Clients           int     `json:"clients"`  // cluster-wide
	Held              int     `json:"held"`     // this node
	Published         uint64  `json:"published"`
	Delivered         uint64  `json:"delivered"`
	PublishRate       float64 `json:"publish_rate"`  // messages per second, this node
	DeliveryRate      float64 `json:"delivery_rate"` // messages per second, this node
	MessagesPublished int64   `json:"messages_published"`
	UptimeSeconds     int64   `json:"uptime_seconds"`
	Engine            string  `json:"engine"`
	Version           string  `json:"version"`
}

// Options configure a Publisher.
type Options struct {
	Engine   comet.Engine
	Hub      *comet.Hub
	Counter  *Counter
	Interval time.Duration // default 2s
	// MaxMessages is the retention of the status channel: the history a
	// freshly opened page starts from (default 90, three minutes at 2s).
	MaxMessages int
	Node        string
	Version     string
	Started     time.Time
	Logger      *slog.Logger
}

// Publisher publishes a Snapshot to comet.StatusChannel every Interval.
type Publisher struct {
	o    Options
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once

	// owned by the loop goroutine
	lastAt           time.Time
	lastPub, lastDel uint64
	failing          bool
}

// New returns a stopped publisher.
func New(o Options) *Publisher {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 90
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	if o.Counter == nil {
		o.Counter = &Counter{}
	}
	return &Publisher{o: o, stop: make(chan struct{}), lastAt: o.Started}
}

// Start publishes a first snapshot at once, then one every Interval, until
// Stop.
func (p *Publisher) Start() {
	p.done.Add(1)
	go p.loop()
}

// Stop ends the loop and waits for it. Safe to call twice, and without
// Start.
func (p *Publisher) Stop() {
	p.once.Do(func() { close(p.stop) })
	p.done.Wait()
}

func (p *Publisher) loop() {
	defer p.done.Done()
	t := time.NewTicker(p.o.Interval)
	defer t.Stop()
	for {
		p.publishOnce()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// publishOnce takes and publishes one snapshot. Errors are logged once
// when they start and once when they end, not every interval.
func (p *Publisher) publishOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), p.o.Interval)
	defer cancel()
	err := p.publish(ctx, p.snapshot(ctx, time.Now()))
	switch {
	case err != nil && !p.failing:
		p.o.Logger.Warn("cannot publish the live status", "channel", comet.StatusChannel, "err", err)
	case err == nil && p.failing:
		p.o.Logger.Info("live status published again", "channel", comet.StatusChannel)
	}
	p.failing = err != nil
}

func (p *Publisher) snapshot(ctx context.Context, now time.Time) Snapshot {
	pub, del := p.o.Counter.Totals()
	dt := now.Sub(p.lastAt).Seconds()
	s := Snapshot{
		Node:            p.o.Node,
		TS:              now.UnixMilli(),
		IntervalSeconds: p.o.Interval.Seconds(),
		Held:            p.o.Hub.Held(),
		Published:       pub,
		Delivered:       del,
		UptimeSeconds:   int64(now.Sub(p.o.Started).Seconds()),
		Engine:          p.o.Engine.Name(),
		Version:         p.o.Version,
	}
	if dt > 0 {
		s.PublishRate = round2(float64(pub-p.lastPub) / dt)
		s.DeliveryRate = round2(float64(del-p.lastDel) / dt)
	}
	p.lastAt, p.lastPub, p.lastDel = now, pub, del
	if st, err := p.o.Engine.Status(ctx, 0); err == nil {
		s.Channels, s.Clients, s.MessagesPublished = st.ChannelsCount, st.ClientsCount, st.MessagesPublished
	}
	return s
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// publish stores s in the status channel, registering the channel when it
// is absent (first run, expired because no page read it, or removed).
func (p *Publisher) publish(ctx context.Context, s Snapshot) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = p.o.Engine.Publish(ctx, comet.StatusChannel, string(body))
	if !errors.Is(err, comet.ErrNoChannel) {
		return err
	}
	err = p.o.Engine.RegisterChannel(ctx, comet.StatusChannel, comet.ChannelOptions{MaxMessages: p.o.MaxMessages})
	if err != nil && !errors.Is(err, comet.ErrChannelExists) { // another node won the race
		return err
	}
	_, err = p.o.Engine.Publish(ctx, comet.StatusChannel, string(body))
	return err
}
