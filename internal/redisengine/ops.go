package redisengine

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Status codes the scripts answer besides their results.
const (
	stOK       = 1
	stConflict = -2
	stNoClient = -3
	stFull     = -5
)

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// RegisterChannel implements comet.Engine.
func (e *Engine) RegisterChannel(ctx context.Context, name string, opts comet.ChannelOptions) error {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = e.opts.DefaultMaxMessages
	}
	v, err := e.runWrite(ctx, scriptRegisterChannel, ms(e.opts.ChannelTimeout), e.opts.MaxChannels, name, flag(opts.UseSessions), opts.MaxMessages)
	return registered(scriptRegisterChannel, v, err, comet.ErrChannelExists)
}

// registered maps a registration script's status to the domain's errors:
// exists for a name already registered, ErrCapacity when the limit is
// reached.
func registered(s *script, v any, err error, exists error) error {
	if err != nil {
		return err
	}
	switch v {
	case int64(stOK):
		return nil
	case int64(stConflict):
		return exists
	case int64(stFull):
		return comet.ErrCapacity
	}
	return unexpected(s, v)
}

// DeleteChannel implements comet.Engine. The script rings the delete
// doorbell, so polls held on it wake on every node.
func (e *Engine) DeleteChannel(ctx context.Context, name string) (bool, error) {
	v, err := e.runWrite(ctx, scriptDeleteChannel, ms(e.opts.ChannelTimeout), name)
	if err != nil {
		return false, err
	}
	return v == int64(1), nil
}

// Publish implements comet.Engine.
func (e *Engine) Publish(ctx context.Context, channel, content string) (comet.Message, error) {
	floor := strconv.FormatInt(e.watermark.Load(), 10)
	v, err := e.runWrite(ctx, scriptPublish, ms(e.opts.ChannelTimeout), channel, content, floor)
	if err != nil {
		return comet.Message{}, err
	}
	if v == int64(stConflict) {
		return comet.Message{}, comet.ErrNoChannel
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return comet.Message{}, unexpected(scriptPublish, v)
	}
	id, ok1 := arr[0].(int64)
	ts, ok2 := arr[1].(int64)
	if !ok1 || !ok2 {
		return comet.Message{}, unexpected(scriptPublish, v)
	}
	e.observe(id)
	// Local polls are woken by the doorbell like everyone else's: it was
	// rung after the store, in the same script.
	return comet.Message{ID: id, TS: ts, Content: content}, nil
}

// RegisterClient implements comet.Engine.
func (e *Engine) RegisterClient(ctx context.Context, id string) error {
	v, err := e.runWrite(ctx, scriptRegisterClient, ms(e.opts.SessionTimeout), e.opts.MaxClients, id)
	return registered(scriptRegisterClient, v, err, comet.ErrClientExists)
}

// DeleteClient implements comet.Engine.
func (e *Engine) DeleteClient(ctx context.Context, id string) (bool, error) {
	v, err := e.runWrite(ctx, scriptDeleteClient, ms(e.opts.SessionTimeout), id)
	if err != nil {
		return false, err
	}
	return v == int64(1), nil
}

// Read implements comet.Engine. Identical reads in flight at the same time
// share one round trip (coalesce.go).
func (e *Engine) Read(ctx context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	return e.reads.read(ctx, q, e.readRedis)
}

// readRedis is one read script.
func (e *Engine) readRedis(ctx context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	args := make([]any, 0, 6+len(q.Channels))
	args = append(args, ms(e.opts.ChannelTimeout), ms(e.opts.SessionTimeout), flag(q.HasClient), q.ClientID,
		strconv.FormatInt(max(q.Since, 0), 10), strconv.FormatInt(e.watermark.Load(), 10))
	for _, c := range q.Channels {
		args = append(args, c)
	}
	v, err := e.run(ctx, scriptRead, args...)
	if err != nil {
		return comet.ReadResult{}, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return comet.ReadResult{}, unexpected(scriptRead, v)
	}
	switch arr[0] {
	case int64(stNoClient):
		return comet.ReadResult{}, comet.ErrUnknownClient
	case int64(stConflict):
		return comet.ReadResult{}, comet.ErrNoValidChannels
	}
	res, err := decodeRead(arr)
	if err != nil {
		return comet.ReadResult{}, fmt.Errorf("%w: %v", comet.ErrUnavailable, err)
	}
	e.observe(res.LastID)
	return res, nil
}

// Touch implements comet.Engine.
func (e *Engine) Touch(ctx context.Context, channels, clients []string) error {
	if len(channels) == 0 && len(clients) == 0 {
		return nil
	}
	args := make([]any, 0, 3+len(channels)+len(clients))
	args = append(args, ms(e.opts.ChannelTimeout), ms(e.opts.SessionTimeout), len(channels))
	for _, c := range channels {
		args = append(args, c)
	}
	for _, c := range clients {
		args = append(args, c)
	}
	_, err := e.run(ctx, scriptTouch, args...)
	return err
}

// Status implements comet.Engine.
func (e *Engine) Status(ctx context.Context, limit int) (comet.EngineStatus, error) {
	v, err := e.run(ctx, scriptStatus, ms(e.opts.ChannelTimeout), ms(e.opts.SessionTimeout), max(limit, 0))
	if err != nil {
		return comet.EngineStatus{}, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 5 {
		return comet.EngineStatus{}, unexpected(scriptStatus, v)
	}
	var st comet.EngineStatus
	chCount, ok1 := arr[0].(int64)
	clCount, ok2 := arr[2].(int64)
	pub, ok3 := arr[4].(int64)
	chans, ok4 := stringList(arr[1])
	clients, ok5 := stringList(arr[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return comet.EngineStatus{}, unexpected(scriptStatus, v)
	}
	st.ChannelsCount, st.ClientsCount, st.MessagesPublished = int(chCount), int(clCount), pub
	if limit > 0 {
		st.Channels, st.Clients = chans, clients
	}
	sort.Strings(st.Channels)
	sort.Strings(st.Clients)
	return st, nil
}

func unexpected(s *script, v any) error {
	return fmt.Errorf("%w: %s: unexpected reply %T", comet.ErrUnavailable, s.name, v)
}
