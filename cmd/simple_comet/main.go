// Command simple_comet runs the Simple Comet server: it parses the switches,
// wires an engine, the hub, the HTTP API and metrics, listens, and on SIGINT
// or SIGTERM shuts down in order: stop accepting, answer every held poll,
// drain HTTP, close the engine.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/config"
	"github.com/simple-comet/simple-comet/internal/h1"
	"github.com/simple-comet/simple-comet/internal/httpapi"
	"github.com/simple-comet/simple-comet/internal/logging"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status: 0 after a clean
// shutdown, --help or --version; 2 for a bad switch; 1 when it cannot
// listen or the engine cannot start.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args, getenv)
	switch {
	case errors.Is(err, config.ErrHelp):
		config.Usage(stdout, version)
		return 0
	case errors.Is(err, config.ErrVersion):
		fmt.Fprintf(stdout, "simple_comet %s\n", version)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "simple_comet: %v (see --help)\n", err)
		return 2
	}
	level, _ := logging.ParseLevel(cfg.LogLevel)
	log := logging.New(stderr, cfg.LogFormat, level)

	listeners, err := listen(cfg)
	if err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	hub := comet.NewHub(cfg.MaxHeldPolls)
	engine, err := openEngine(ctx, cfg, hub, log)
	if err != nil {
		for _, l := range listeners {
			l.Close()
		}
		log.Error("cannot start the engine", "err", err)
		return 1
	}
	m, engine := observe(cfg, hub, engine)
	keep := comet.KeepAliveInterval(cfg.InactiveChannelTimeout, cfg.SessionTimeout)
	svc := comet.NewService(engine, hub, cfg.HTTPTimeout, keep)
	started := time.Now()

	lot := startLot(cfg, log)
	app, err := wire(cfg, svc, hub, lot, log, started, m)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if lot != nil {
		// Re-polls on kept-alive parked connections are served without
		// going back through net/http.
		lot.SetServer(app.native)
	}
	srv := httpapi.NewServer(app.handler, httpapi.ServerOptions{
		HTTPTimeout:    cfg.HTTPTimeout,
		RequestTimeout: cfg.RequestTimeout,
		MaxHeaderBytes: cfg.MaxHeaderBytes,
		Logger:         log,
	})

	if cfg.Secret == "" && !loopbackOnly(listeners) {
		log.Warn("no --secret is set and the server listens beyond loopback: anyone who reaches it can register channels and publish")
	}
	errc := make(chan error, len(listeners)+1)
	var serving sync.WaitGroup
	for _, l := range listeners {
		var ll net.Listener = httpapi.NewLimitListener(l, cfg.MaxConnections, cfg.QuoteJSON)
		if lot != nil {
			// The Lot serves every connection's plain requests itself;
			// net/http gets what it hands off.
			ll = lot.ListenNative(ll)
		}
		log.Info("listening on "+l.Addr().String(), "addr", l.Addr().String(), "engine", engine.Name(), "node", cfg.NodeID, "version", version)
		// The same line, plain, on stdout: scripts that start the server
		// with --http-port=0 read the port from whichever stream they watch.
		fmt.Fprintf(stdout, "listening on %s\n", l.Addr())
		serving.Add(1)
		go func() {
			defer serving.Done()
			// Requests that do not arrive in time are answered 408.
			if err := srv.Serve(h1.TimeoutListener(ll)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	app.start()

	status := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", "held_polls", hub.Held())
	case err := <-errc:
		log.Error("server failed", "err", err)
		status = 1
	}
	// Stop accepting, answer every held poll, drain, close the engine.
	for _, l := range listeners {
		l.Close()
	}
	hub.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	// The listeners are closed already: that error from Shutdown is expected.
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Warn("shutdown deadline passed; closing remaining connections", "err", err)
		srv.Close()
	}
	cancel()
	if lot != nil {
		lot.Drain(time.Now().Add(2 * time.Second))
		lot.Close()
	}
	serving.Wait()
	app.stop()
	svc.Close()
	if err := engine.Close(); err != nil {
		log.Warn("engine close", "err", err)
	}
	log.Info("stopped")
	return status
}

// startLot starts the lean transport (parking) when cfg asks for it, or
// returns nil: then net/http holds every connection. Where there is no
// lean transport (not Linux) the server says so once, and goes on.
func startLot(cfg config.Config, log *slog.Logger) *parking.Lot {
	if !cfg.LeanPolls {
		return nil
	}
	lot, err := parking.New(parking.Options{
		Workers: max(4, 2*runtime.GOMAXPROCS(0)), IdleTimeout: cfg.HTTPTimeout,
		FirstTimeout: min(cfg.RequestTimeout, cfg.HTTPTimeout),
		// Requests, answers and hang-ups are served on the event loops:
		// all of them with the embedded engine, which never waits; with
		// Redis the reads its local copy answers, everything that must
		// ask Redis being sent to the workers (Outcome.Offload).
		Inline:  true,
		Loops:   runtime.GOMAXPROCS(0),
		IOUring: cfg.IOUring,
		Logger:  log,
	})
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		log.Info("--lean-polls and --io-uring are not available on "+runtime.GOOS+": every connection is held in net/http", "err", err)
		return nil
	case err != nil:
		log.Warn("cannot park held polls; holding them in net/http", "err", err)
		return nil
	}
	if on, err := lot.IOUring(); cfg.IOUring && !on {
		log.Info("io_uring is not available here: answers are written one by one", "err", err)
	}
	return lot
}

// listen opens the TCP listener (unless only a Unix socket was asked for)
// and the Unix socket listener.
func listen(cfg config.Config) ([]net.Listener, error) {
	var ls []net.Listener
	if cfg.UnixSocketPath == "" || cfg.HTTPPortSet {
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.Bind, fmt.Sprint(cfg.HTTPPort)))
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	if cfg.UnixSocketPath != "" {
		if fi, err := os.Lstat(cfg.UnixSocketPath); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(cfg.UnixSocketPath) // a stale socket from an earlier run
		}
		l, err := net.Listen("unix", cfg.UnixSocketPath)
		if err != nil {
			for _, o := range ls {
				o.Close()
			}
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func loopbackOnly(ls []net.Listener) bool {
	for _, l := range ls {
		if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}
