// Package redisengine is the multi-node engine: channels, their retained
// messages, registered clients and the one id counter live in a shared
// Redis, so that several Simple Comet nodes act as one server.
//
// Every operation is one Lua script (lua/*.lua), so it is atomic in Redis
// and uses Redis's clock (TIME) for ids and expiry: nodes with skewed
// clocks still issue one strictly increasing id sequence. Every change
// that alters what a read sees (a message stored, a channel deleted or
// expired, a client deleted) is numbered and published, in the same
// script, on one pub/sub channel under the prefix: the doorbell stream,
// carrying the whole change (stream.go).
//
// Each node applies the stream to a local copy (internal/localcopy) of the
// channels and clients it reads and wakes its own held polls, which re-read
// from the copy: a re-poll or a wake-up costs no Redis round trip. What the
// copy cannot answer exactly is read from Redis, and what is read is
// offered to the copy. Reads answered locally are touched in Redis in
// batches (at most touchEvery late), so that expiry stays cluster-wide.
//
// Faults: every command has a bounded timeout and is never retried (a
// retried publish could be stored twice); a failure is comet.ErrUnavailable.
// When the doorbell subscription drops, the copy is forgotten and every
// held poll is woken (WakeEngineDown); when it is back, the copy starts
// again from Redis and every poll is woken again (WakeResync), so that a
// doorbell missed meanwhile costs nothing. A doorbell out of sequence (a
// lost change, a failover that lost writes) does the same.
//
// Concurrency: the Engine is safe for concurrent use. It owns three
// goroutines, the doorbell listener (the only one that applies the stream
// to the copy), the toucher and the expiry sweeper, all stopped and waited
// for by Close.
package redisengine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/localcopy"
)

// Options configure the engine. Zero timeouts never expire.
type Options struct {
	URL                string // redis://HOST:PORT/DB, rediss://…, unix://…, redis+sentinel://…
	Prefix             string // every key starts with it (--redis-prefix)
	ChannelTimeout     time.Duration
	SessionTimeout     time.Duration
	DefaultMaxMessages int
	MaxChannels        int // cluster-wide; 0: no limit
	MaxClients         int // cluster-wide; 0: no limit
	// WaitReplicas (--redis-wait-replicas): registrations, publishes and
	// deletions are acknowledged only once this many replicas confirm them
	// (WAIT in the same round trip); 0 does not wait.
	WaitReplicas int
	// OpTimeout bounds one Redis call (default 2s), so that a lost Redis
	// is answered with -5 quickly rather than when the HTTP layer gives up.
	OpTimeout time.Duration
	Logger    *slog.Logger
}

// Engine is the Redis comet.Engine.
type Engine struct {
	opts     Options
	notifier comet.Notifier
	log      *slog.Logger
	rdb      *goredis.Client
	scripts  map[*script]*goredis.Script
	bell     string // the doorbell pub/sub channel

	// watermark is the newest id this node has seen (issued to it or read
	// by it). Every publish passes it to Redis as a floor, so that a
	// promoted replica that had not seen the newest ids never issues one
	// of them again.
	watermark atomic.Int64

	reads readGroup // identical reads in flight share a round trip

	// copy answers the reads it can without Redis; the listener applies
	// the doorbell stream to it (stream.go).
	copy   *localcopy.Copy
	faults faults

	subMu sync.Mutex
	sub   *goredis.PubSub // the listener's current subscription

	// ready is closed once the doorbell subscription is up the first
	// time: New waits for it (a while), so that the wake of every poll
	// that follows a subscription never reaches a poll of the first
	// requests.
	ready     chan struct{}
	readyOnce sync.Once

	ctx       context.Context // ends at Close: stops the goroutines
	cancel    context.CancelFunc
	done      sync.WaitGroup
	closeOnce sync.Once
}

// New connects (lazily: a Redis that is down now only makes calls fail until
// it is up), starts the doorbell listener and the sweeper, and waits until
// the doorbell is subscribed (at most OpTimeout).
func New(opts Options, n comet.Notifier) (*Engine, error) {
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 2 * time.Second
	}
	rdb, err := newClient(opts.URL, opts.OpTimeout)
	if err != nil {
		return nil, err
	}
	if opts.DefaultMaxMessages <= 0 {
		opts.DefaultMaxMessages = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	quietClientLog(opts.Logger)
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		opts:     opts,
		notifier: n,
		log:      opts.Logger,
		rdb:      rdb,
		scripts:  make(map[*script]*goredis.Script),
		bell:     opts.Prefix + "bell",
		copy: localcopy.New(localcopy.Options{
			ChannelTimeout: opts.ChannelTimeout,
			SessionTimeout: opts.SessionTimeout,
		}),
		ready:  make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	for _, s := range allScripts {
		e.scripts[s] = goredis.NewScript(s.src)
	}
	e.done.Add(2)
	go e.listen()
	go e.toucher()
	if every := sweepInterval(opts); every > 0 {
		e.done.Add(1)
		go e.sweeper(every)
	}
	// A Redis that is down now only delays the start by OpTimeout.
	select {
	case <-e.ready:
	case <-time.After(opts.OpTimeout):
	}
	return e, nil
}

// Name implements comet.Engine.
func (e *Engine) Name() string { return "redis" }

// Ping implements comet.Engine: can Redis be reached now?
func (e *Engine) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
	defer cancel()
	if err := e.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: ping: %v", comet.ErrUnavailable, err)
	}
	return nil
}

// Close stops the listener and the sweeper and closes the connections.
// Safe to call twice.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.cancel()
		e.subMu.Lock()
		if e.sub != nil {
			e.sub.Close() // interrupts a receive in progress
			e.sub = nil
		}
		e.subMu.Unlock()
		e.done.Wait()
		err = e.rdb.Close()
	})
	return err
}

// run executes one script (EVALSHA, falling back to EVAL when Redis lost
// its script cache, as after a restart) within the operation timeout. Any
// failure is ErrUnavailable: the outcome is unknown.
func (e *Engine) run(ctx context.Context, s *script, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
	defer cancel()
	v, err := e.scripts[s].Run(ctx, e.rdb, nil, e.argv(args)...).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", comet.ErrUnavailable, s.name, err)
	}
	return v, nil
}

// argv is a script's arguments: the prefix, then args.
func (e *Engine) argv(args []any) []any {
	full := make([]any, 0, len(args)+1)
	full = append(full, e.opts.Prefix)
	return append(full, args...)
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

var clientLogOnce sync.Once

// quietClientLog sends go-redis's own log lines (dial failures while Redis
// is down, one per attempt) to our logger at debug level instead of stderr.
func quietClientLog(log *slog.Logger) {
	clientLogOnce.Do(func() { goredis.SetLogger(clientLogger{log}) })
}

type clientLogger struct{ log *slog.Logger }

func (l clientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug("redis client", "msg", fmt.Sprintf(format, v...))
}
