// Package config owns the server's settings: the Config struct, its
// defaults, the command-line switches (with the seed's aliases), the
// SIMPLE_COMET_* environment variables, and validation. Seconds become
// time.Duration here, once, at the edge.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is every setting of the server.
type Config struct {
	HTTPPort       int
	HTTPPortSet    bool // given explicitly (flag or environment)
	Bind           string
	UnixSocketPath string

	HTTPTimeout            time.Duration
	RequestTimeout         time.Duration
	SessionTimeout         time.Duration
	InactiveChannelTimeout time.Duration

	MessagesPerChannel int
	MaxMessagesLimit   int

	QuoteJSON     bool
	EnableStatus  bool
	EnableMetrics bool
	MetricsAddr   string
	EnableDemo    bool

	Secret string

	MaxBodyBytes        int64
	MaxHeaderBytes      int
	MaxChannelsPerRead  int
	MaxChannelNameBytes int
	MaxChannels         int
	MaxClients          int
	MaxConnections      int
	MaxHeldPolls        int

	RedisURL          string
	RedisPrefix       string
	RedisWaitReplicas int
	NodeID            string

	LeanPolls bool // park held polls' connections (no goroutine each)
	IOUring   bool // the loops send a round's answers through io_uring

	LogFormat string
	LogLevel  string
	AccessLog bool
}

// Default returns the defaults of PROTOCOL.md.
func Default() Config {
	return Config{
		HTTPPort:               8080,
		HTTPTimeout:            30 * time.Second,
		RequestTimeout:         10 * time.Second,
		SessionTimeout:         60 * time.Second,
		InactiveChannelTimeout: 90 * time.Second,
		MessagesPerChannel:     100,
		MaxMessagesLimit:       10000,
		MaxBodyBytes:           1 << 20,
		MaxHeaderBytes:         16 << 10,
		MaxChannelsPerRead:     100,
		MaxChannelNameBytes:    255,
		MaxChannels:            100000,
		MaxClients:             100000,
		MaxConnections:         defaultMaxConnections(),
		RedisPrefix:            "simple_comet:",
		LeanPolls:              true,
		IOUring:                true,
		LogFormat:              "text",
		LogLevel:               "info",
	}
}

// Validate reports every problem with c in one error, joined by "; ".
func (c *Config) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		bad("--http-port must be between 0 and 65535, got %d", c.HTTPPort)
	}
	if c.HTTPTimeout <= 0 {
		bad("--http-timeout must be positive")
	}
	if c.RequestTimeout <= 0 {
		bad("--request-timeout must be positive")
	}
	if c.SessionTimeout <= 0 {
		bad("--session-timeout must be positive")
	}
	if c.InactiveChannelTimeout < 0 {
		bad("--inactive-channel-timeout must be 0 (never) or positive")
	}
	if c.MaxMessagesLimit < 1 {
		bad("--max-messages-limit must be at least 1, got %d", c.MaxMessagesLimit)
	}
	if c.MessagesPerChannel < 1 || c.MessagesPerChannel > c.MaxMessagesLimit {
		bad("--messages-per-channel must be between 1 and --max-messages-limit (%d), got %d", c.MaxMessagesLimit, c.MessagesPerChannel)
	}
	if c.MaxBodyBytes < 1 {
		bad("--max-body-bytes must be at least 1")
	}
	if c.MaxHeaderBytes < 4096 {
		bad("--max-header-bytes must be at least 4096, got %d", c.MaxHeaderBytes)
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"--max-channels-per-read", c.MaxChannelsPerRead}, {"--max-channels", c.MaxChannels}, {"--max-clients", c.MaxClients}, {"--max-connections", c.MaxConnections}} {
		if l.v < 1 {
			bad("%s must be at least 1, got %d", l.name, l.v)
		}
	}
	if c.MaxChannelNameBytes < 1 || c.MaxChannelNameBytes > 255 {
		// PROTOCOL.md fixes names at 1-255 bytes: a lower limit is fine.
		bad("--max-channel-name-bytes must be between 1 and 255, got %d", c.MaxChannelNameBytes)
	}
	if c.MaxHeldPolls < 0 {
		bad("--max-held-polls must be 0 (no limit but --max-connections) or positive")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("--log-format must be text or json, got %q", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("--log-level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") && !strings.HasPrefix(c.RedisURL, "redis+sentinel://") {
		bad("--redis-url must start with redis://, rediss://, unix:// or redis+sentinel://")
	}
	if c.RedisWaitReplicas < 0 || c.RedisWaitReplicas > 100 {
		bad("--redis-wait-replicas must be between 0 and 100, got %d", c.RedisWaitReplicas)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
