package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/config"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

// openEngine picks the engine: Redis with --redis-url, memory otherwise.
func openEngine(ctx context.Context, cfg config.Config, hub *comet.Hub, log *slog.Logger) (comet.Engine, error) {
	if cfg.RedisURL != "" {
		return nil, errors.New("the Redis engine is not built yet")
	}
	return memengine.New(memengine.Options{
		ChannelTimeout:     cfg.InactiveChannelTimeout,
		SessionTimeout:     cfg.SessionTimeout,
		DefaultMaxMessages: cfg.MessagesPerChannel,
		MaxChannels:        cfg.MaxChannels,
		MaxClients:         cfg.MaxClients,
	}, hub), nil
}
