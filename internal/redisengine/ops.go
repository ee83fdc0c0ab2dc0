package redisengine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/localcopy"
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

// DeleteChannel implements comet.Engine. The script rings "channel gone",
// so polls held on it wake on every node and every local copy drops it.
func (e *Engine) DeleteChannel(ctx context.Context, name string) (bool, error) {
	return e.deleted(ctx, scriptDeleteChannel, ms(e.opts.ChannelTimeout), name)
}

// deleted runs a deletion script, whose answer is {removed (1/0), seq}: a
// read on this node answers from the local copy only once it has applied
// seq (read-your-writes).
func (e *Engine) deleted(ctx context.Context, s *script, args ...any) (bool, error) {
	v, err := e.runWrite(ctx, s, args...)
	if err != nil {
		return false, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return false, unexpected(s, v)
	}
	removed, ok1 := arr[0].(int64)
	seq, ok2 := arr[1].(int64)
	if !ok1 || !ok2 {
		return false, unexpected(s, v)
	}
	e.copy.Acked(seq)
	return removed == 1, nil
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
	if !ok || len(arr) != 3 {
		return comet.Message{}, unexpected(scriptPublish, v)
	}
	id, ok1 := arr[0].(int64)
	ts, ok2 := arr[1].(int64)
	seq, ok3 := arr[2].(int64)
	if !ok1 || !ok2 || !ok3 {
		return comet.Message{}, unexpected(scriptPublish, v)
	}
	e.observe(id)
	e.copy.Acked(seq)
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
	return e.deleted(ctx, scriptDeleteClient, ms(e.opts.SessionTimeout), id)
}

// Read implements comet.Engine. A read the local copy can answer exactly
// costs no round trip (copy.go); the others are read from Redis, identical
// ones in flight at the same time sharing one round trip (coalesce.go).
func (e *Engine) Read(ctx context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	if res, hit, err := e.ReadLocal(q); hit {
		return res, err
	}
	return e.reads.read(ctx, q, e.readRedis)
}

// readRedis is one read script. While the local copy follows the stream,
// the read takes every retained message and the channels' options too,
// and offers them to the copy, so that the next read of these channels is
// answered locally.
func (e *Engine) readRedis(ctx context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	full := e.copy.Based()
	args := make([]any, 0, 7+len(q.Channels))
	args = append(args, ms(e.opts.ChannelTimeout), ms(e.opts.SessionTimeout), flag(q.HasClient), q.ClientID,
		strconv.FormatInt(max(q.Since, 0), 10), strconv.FormatInt(e.watermark.Load(), 10), flag(full))
	for _, c := range q.Channels {
		args = append(args, c)
	}
	taken := time.Now()
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
	r, err := decodeRead(arr, full)
	if err != nil {
		return comet.ReadResult{}, fmt.Errorf("%w: %v", comet.ErrUnavailable, err)
	}
	e.observe(r.res.LastID)
	if full {
		e.copy.Install(localcopy.Snapshot{Seq: r.seq, LastID: r.res.LastID, Channels: r.states,
			ClientID: q.ClientID, HasClient: q.HasClient, Taken: taken})
	}
	return r.res, nil
}

// Touch implements comet.Engine.
func (e *Engine) Touch(ctx context.Context, channels, clients []string) error {
	if len(channels) == 0 && len(clients) == 0 {
		return nil
	}
	at := time.Now()
	if err := e.touch(ctx, channels, clients); err != nil {
		return err
	}
	e.copy.Confirm(channels, clients, at)
	return nil
}

// touch is one touch script.
func (e *Engine) touch(ctx context.Context, channels, clients []string) error {
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

// ReadLocal implements comet.LocalReader: the reads the local copy answers
// exactly, without Redis, so that an event loop can serve re-polls and
// wake-ups.
func (e *Engine) ReadLocal(q comet.ReadQuery) (comet.ReadResult, bool, error) {
	res, hit, err := e.copy.Read(q)
	if hit && err == nil {
		e.observe(res.LastID)
	}
	return res, hit, err
}
