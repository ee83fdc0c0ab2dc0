package main

import (
	"context"
	"log/slog"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/config"
	"github.com/simple-comet/simple-comet/internal/memengine"
	"github.com/simple-comet/simple-comet/internal/redisengine"
)

// openEngine picks the engine: Redis with --redis-url, memory otherwise.
func openEngine(ctx context.Context, cfg config.Config, hub *comet.Hub, log *slog.Logger) (comet.Engine, error) {
	if cfg.RedisURL != "" {
		e, err := redisengine.New(redisengine.Options{
			URL:                cfg.RedisURL,
			Prefix:             cfg.RedisPrefix,
			ChannelTimeout:     cfg.InactiveChannelTimeout,
			SessionTimeout:     cfg.SessionTimeout,
			DefaultMaxMessages: cfg.MessagesPerChannel,
			MaxChannels:        cfg.MaxChannels,
			MaxClients:         cfg.MaxClients,
			WaitReplicas:       cfg.RedisWaitReplicas,
			Logger:             log,
		}, hub)
		if err != nil {
			return nil, err
		}
		// Redis down at start is not fatal: calls answer -5 until it is up.
		if err := e.Ping(ctx); err != nil {
			log.Warn("redis is not reachable yet; answering -5 until it is", "err", err)
		}
		return e, nil
	}
	return memengine.New(memengine.Options{
		ChannelTimeout:     cfg.InactiveChannelTimeout,
		SessionTimeout:     cfg.SessionTimeout,
		DefaultMaxMessages: cfg.MessagesPerChannel,
		MaxChannels:        cfg.MaxChannels,
		MaxClients:         cfg.MaxClients,
	}, hub), nil
}
