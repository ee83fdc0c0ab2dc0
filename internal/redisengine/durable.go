package redisengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// waitTimeout is WAIT's own timeout: replicas that have not confirmed a
// write within it make the answer -5. With the script's time it stays
// within OpTimeout (2 s), the bound on every write.
const waitTimeout = time.Second

// errNotReplicated: the write happened on the primary, but fewer replicas
// than --redis-wait-replicas confirmed it in time.
var errNotReplicated = errors.New("fewer replicas than --redis-wait-replicas confirmed the write")

// runWrite executes a script that changes what a client was promised
// (a registration, a publish, a deletion). With WaitReplicas > 0 the
// script is followed by WAIT N 1000 in the same pipeline, so on the same
// connection and in the same round trip: the answer is a success only when
// N replicas have everything this connection wrote. NOSCRIPT (a promoted
// replica or a restarted Redis has an empty script cache) is answered by
// EVAL and its own WAIT, again in one pipeline. Nothing is retried after a
// lost reply.
func (e *Engine) runWrite(ctx context.Context, s *script, args ...any) (any, error) {
	n := e.opts.WaitReplicas
	if n <= 0 {
		return e.run(ctx, s, args...)
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
	defer cancel()
	full := e.argv(args)
	v, err := e.evalWait(ctx, n, func(p goredis.Pipeliner) *goredis.Cmd {
		return p.EvalSha(ctx, s.sha, nil, full...)
	})
	// A NOSCRIPT whose WAIT confirmed is retried with EVAL; one whose WAIT
	// came back short is answered at once (nothing ran, and the replicas
	// would not confirm the retry either), so that a stalled replica never
	// costs two WAITs and the answer stays within the bound.
	if err != nil && isNoScript(err) && !errors.Is(err, errNotReplicated) {
		v, err = e.evalWait(ctx, n, func(p goredis.Pipeliner) *goredis.Cmd {
			return p.Eval(ctx, s.src, nil, full...)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", comet.ErrUnavailable, s.name, err)
	}
	return v, nil
}

// evalWait runs one script command and WAIT n in one pipeline. A WAIT
// that counted fewer than n replicas is errNotReplicated; the script's own
// error (NOSCRIPT included) comes first and carries the WAIT's outcome.
func (e *Engine) evalWait(ctx context.Context, n int, script func(goredis.Pipeliner) *goredis.Cmd) (any, error) {
	p := e.rdb.Pipeline()
	cmd := script(p)
	wait := p.Do(ctx, "WAIT", n, waitTimeout.Milliseconds())
	_, _ = p.Exec(ctx) // each command carries its own error
	got, werr := wait.Int64()
	switch {
	case werr != nil:
		werr = fmt.Errorf("WAIT: %v", werr)
	case got < int64(n):
		werr = fmt.Errorf("%w (%d of %d)", errNotReplicated, got, n)
	}
	if err := cmd.Err(); err != nil {
		if werr != nil {
			return nil, fmt.Errorf("%w; %w", err, werr)
		}
		return nil, err
	}
	if werr != nil {
		return nil, werr
	}
	return cmd.Val(), nil
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// observe raises the watermark to id (never lowers it).
func (e *Engine) observe(id int64) {
	for {
		cur := e.watermark.Load()
		if id <= cur || e.watermark.CompareAndSwap(cur, id) {
			return
		}
	}
}
