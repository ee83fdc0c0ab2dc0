package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/simple-comet/simple-comet/client"
	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/config"
	"github.com/simple-comet/simple-comet/internal/httpapi"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// app is the wired HTTP side with whatever background work it needs
// (metrics, the status publisher), started after listening and stopped
// after the HTTP server has drained.
type app struct {
	handler http.Handler
	start   func()
	stop    func()
}

const assetCache = "public, max-age=3600"

func wire(cfg config.Config, svc *comet.Service, hub *comet.Hub, lot *parking.Lot, log *slog.Logger, started time.Time) (*app, error) {
	assets := map[string]httpapi.Asset{
		"/simple-comet.js":     {ContentType: "application/javascript; charset=utf-8", Body: client.Source, CacheControl: assetCache},
		"/simple-comet.min.js": {ContentType: "application/javascript; charset=utf-8", Body: client.Minified, CacheControl: assetCache},
	}
	api := httpapi.New(svc, httpapi.Options{
		QuoteJSON:          cfg.QuoteJSON,
		EnableStatus:       cfg.EnableStatus,
		Secret:             cfg.Secret,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		MaxChannelsPerRead: cfg.MaxChannelsPerRead,
		MaxMessagesLimit:   cfg.MaxMessagesLimit,
		RequestTimeout:     min(cfg.RequestTimeout, cfg.HTTPTimeout),
		NodeID:             cfg.NodeID,
		Version:            version,
		Started:            started,
		Assets:             assets,
		Logger:             log,
		Lot:                lot,
	})
	var h http.Handler = api
	if cfg.AccessLog {
		h = httpapi.AccessLog(h, log)
	}
	return &app{handler: h, start: func() {}, stop: func() {}}, nil
}
