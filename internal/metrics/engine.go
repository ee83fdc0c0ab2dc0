package metrics

import (
	"context"
	"errors"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// engineOps are the operation labels of comet_engine_errors_total.
var engineOps = []string{"register_channel", "delete_channel", "publish", "register_client", "delete_client", "read", "touch", "status", "ping"}

// Engine wraps e so that calls failing because the engine could not be
// reached are counted. The domain's kinds (no such channel, exists, ...)
// are answers, not faults, and are not counted. Everything else passes
// through unchanged.
func (m *Metrics) Engine(e comet.Engine) comet.Engine {
	return &countingEngine{Engine: e, m: m}
}

type countingEngine struct {
	comet.Engine
	m *Metrics
}

// fault reports whether err means the engine failed rather than answered.
func fault(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	for _, kind := range []error{comet.ErrChannelExists, comet.ErrClientExists, comet.ErrNoChannel, comet.ErrNoValidChannels, comet.ErrUnknownClient, comet.ErrCapacity, comet.ErrClosed} {
		if errors.Is(err, kind) {
			return false
		}
	}
	return true
}

func (c *countingEngine) count(op string, err error) {
	if fault(err) {
		c.m.engineErrs.WithLabelValues(op).Inc()
	}
}

func (c *countingEngine) RegisterChannel(ctx context.Context, name string, o comet.ChannelOptions) error {
	err := c.Engine.RegisterChannel(ctx, name, o)
	c.count("register_channel", err)
	return err
}

func (c *countingEngine) DeleteChannel(ctx context.Context, name string) (bool, error) {
	ok, err := c.Engine.DeleteChannel(ctx, name)
	c.count("delete_channel", err)
	return ok, err
}

func (c *countingEngine) Publish(ctx context.Context, channel, content string) (comet.Message, error) {
	msg, err := c.Engine.Publish(ctx, channel, content)
	c.count("publish", err)
	return msg, err
}

func (c *countingEngine) RegisterClient(ctx context.Context, id string) error {
	err := c.Engine.RegisterClient(ctx, id)
	c.count("register_client", err)
	return err
}

func (c *countingEngine) DeleteClient(ctx context.Context, id string) (bool, error) {
	ok, err := c.Engine.DeleteClient(ctx, id)
	c.count("delete_client", err)
	return ok, err
}

func (c *countingEngine) Read(ctx context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	res, err := c.Engine.Read(ctx, q)
	c.count("read", err)
	return res, err
}

func (c *countingEngine) Touch(ctx context.Context, channels, clients []string) error {
	err := c.Engine.Touch(ctx, channels, clients)
	c.count("touch", err)
	return err
}

func (c *countingEngine) Status(ctx context.Context, limit int) (comet.EngineStatus, error) {
	st, err := c.Engine.Status(ctx, limit)
	c.count("status", err)
	return st, err
}

func (c *countingEngine) Ping(ctx context.Context) error {
	err := c.Engine.Ping(ctx)
	c.count("ping", err)
	return err
}
