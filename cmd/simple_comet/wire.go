package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/config"
	"github.com/simple-comet/simple-comet/internal/h1"
	"github.com/simple-comet/simple-comet/internal/httpapi"
	"github.com/simple-comet/simple-comet/internal/livestatus"
	"github.com/simple-comet/simple-comet/internal/metrics"
	"github.com/simple-comet/simple-comet/internal/parking"
	"github.com/simple-comet/simple-comet/web/demo"
	"github.com/simple-comet/simple-comet/web/status"
)

// app is the wired HTTP side with whatever background work it needs
// (metrics, the status publisher), started after listening and stopped
// after the HTTP server has drained.
type app struct {
	handler http.Handler
	native  *h1.Native // serves the requests the parking Lot reads
	start   func()
	stop    func()
}

const assetCache = "public, max-age=3600"

// observe builds the metrics when --enable-metrics or --metrics-addr asks
// for them, and wraps the engine so that its faults are counted. Without
// metrics it returns nil and e unchanged.
func observe(cfg config.Config, hub *comet.Hub, e comet.Engine) (*metrics.Metrics, comet.Engine) {
	if !cfg.EnableMetrics && cfg.MetricsAddr == "" {
		return nil, e
	}
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{Held: hub.Held, Engine: e, Runtime: true})
	return m, m.Engine(e)
}

func wire(cfg config.Config, svc *comet.Service, hub *comet.Hub, lot *parking.Lot, log *slog.Logger, started time.Time, m *metrics.Metrics) (*app, error) {
	assets := map[string]httpapi.Asset{
		"/simple-comet.js":     {ContentType: "application/javascript; charset=utf-8", Body: client.Source, CacheControl: assetCache},
		"/simple-comet.min.js": {ContentType: "application/javascript; charset=utf-8", Body: client.Minified, CacheControl: assetCache},
		"/simple-comet.mjs":    {ContentType: "application/javascript; charset=utf-8", Body: client.Module, CacheControl: assetCache, AnyOrigin: true},
		"/simple-comet.umd.js": {ContentType: "application/javascript; charset=utf-8", Body: client.UMD, CacheControl: assetCache, AnyOrigin: true},
	}
	if cfg.EnableDemo {
		for _, p := range demo.Paths {
			assets[p] = httpapi.Asset{ContentType: "text/html; charset=utf-8", Body: demo.Page}
		}
	}
	var obs observers
	var starts, stops []func()
	if m != nil {
		obs = append(obs, m)
	}
	if cfg.EnableStatus {
		assets["/status.html"] = httpapi.Asset{ContentType: "text/html; charset=utf-8", Body: status.HTML, Protected: true}
		assets["/status.js"] = httpapi.Asset{ContentType: "application/javascript; charset=utf-8", Body: status.JS}
		counter := &livestatus.Counter{}
		obs = append(obs, counter)
		pub := livestatus.New(livestatus.Options{
			Engine: svc.Engine, Hub: hub, Counter: counter,
			MaxMessages: min(90, cfg.MaxMessagesLimit),
			Node:        cfg.NodeID, Version: version, Started: started, Logger: log,
		})
		starts, stops = append(starts, pub.Start), append(stops, pub.Stop)
	}
	opts := httpapi.Options{
		QuoteJSON:          cfg.QuoteJSON,
		EnableStatus:       cfg.EnableStatus,
		Secret:             cfg.Secret,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		MaxChannelsPerRead: cfg.MaxChannelsPerRead,
		MaxMessagesLimit:   cfg.MaxMessagesLimit,
		MaxNameBytes:       cfg.MaxChannelNameBytes,
		RequestTimeout:     min(cfg.RequestTimeout, cfg.HTTPTimeout),
		NodeID:             cfg.NodeID,
		Version:            version,
		Started:            started,
		Assets:             assets,
		Logger:             log,
		Lot:                lot,
	}
	if len(obs) > 0 {
		opts.Observer = obs
	}
	if cfg.AccessLog {
		alog := httpapi.NewAccessLog(log)
		opts.AccessLog = alog
		stops = append(stops, alog.Close) // after the HTTP server has drained
	}
	if m != nil && cfg.MetricsAddr == "" {
		opts.Metrics = m.Handler()
	}
	api := httpapi.New(svc, opts)
	if m != nil && cfg.MetricsAddr != "" {
		start, stop, err := serveMetrics(cfg.MetricsAddr, api, m.Handler(), log)
		if err != nil {
			return nil, err
		}
		starts, stops = append(starts, start), append(stops, stop)
	}
	return &app{
		handler: api,
		native:  &h1.Native{Handler: api, Fast: api, MaxHeaderBytes: cfg.MaxHeaderBytes, Logger: log},
		start: func() {
			for _, f := range starts {
				f()
			}
		},
		stop: func() {
			for _, f := range stops {
				f()
			}
		},
	}, nil
}

// serveMetrics listens on addr (now, so that a bad address fails before
// the server runs) and serves only /metrics there, with the secret when
// one is set (answered as on the API address).
func serveMetrics(addr string, api *httpapi.Handler, metrics http.Handler, log *slog.Logger) (start, stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: api.ServeMetrics(metrics), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	start = func() {
		// Not "listening on": that line names the API address.
		log.Info("metrics served at http://"+l.Addr().String()+"/metrics", "addr", l.Addr().String())
		go func() {
			defer close(done)
			if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
				log.Error("metrics server failed", "err", err)
			}
		}()
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
	return start, stop, nil
}

// observers tells every observer what the API did.
type observers []httpapi.Observer

func (o observers) Request(res string, status int, d time.Duration) {
	for _, x := range o {
		x.Request(res, status, d)
	}
}

func (o observers) Published() {
	for _, x := range o {
		x.Published()
	}
}

func (o observers) Answered(reason comet.WakeReason, messages int) {
	for _, x := range o {
		x.Answered(reason, messages)
	}
}
