package redisengine

// The client choice (docs/REDIS.md): the engine's two hot operations,
// publish and a three-channel read, through go-redis and through rueidis,
// each decoded as far as the engine needs. Run with
//
//	go test -run '^$' -bench Client -benchmem ./internal/redisengine/

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/simple-comet/simple-comet/internal/testredis"
)

// benchClient runs one script with string arguments and returns how many
// messages a read held (or the id of a publish), so the work is not elided.
type benchClient interface {
	run(ctx context.Context, s *script, args []string) (int64, error)
	exec(ctx context.Context, s *script, args []string) error
	close()
}

type goRedisBench struct {
	c       *goredis.Client
	scripts map[string]*goredis.Script
}

func (g *goRedisBench) run(ctx context.Context, s *script, args []string) (int64, error) {
	sc := g.scripts[s.name]
	if sc == nil {
		panic("unknown script " + s.name)
	}
	a := make([]any, len(args))
	for i := range args {
		a[i] = args[i]
	}
	v, err := sc.Run(ctx, g.c, nil, a...).Result()
	if err != nil {
		return 0, err
	}
	arr := v.([]any)
	if s == scriptPublish {
		return arr[0].(int64), nil
	}
	n := int64(0)
	for i := 3; i+2 < len(arr); i += 3 {
		for _, m := range arr[i+2].([]any) {
			if _, err := parseMember(m.(string)); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

func (g *goRedisBench) exec(ctx context.Context, s *script, args []string) error {
	a := make([]any, len(args))
	for i := range args {
		a[i] = args[i]
	}
	return g.scripts[s.name].Run(ctx, g.c, nil, a...).Err()
}

func (g *goRedisBench) close() { g.c.Close() }

type rueidisBench struct {
	c       rueidis.Client
	scripts map[string]*rueidis.Lua
}

func (r *rueidisBench) run(ctx context.Context, s *script, args []string) (int64, error) {
	arr, err := r.scripts[s.name].Exec(ctx, r.c, nil, args).ToArray()
	if err != nil {
		return 0, err
	}
	if s == scriptPublish {
		return arr[0].AsInt64()
	}
	n := int64(0)
	for i := 3; i+2 < len(arr); i += 3 {
		ms, err := arr[i+2].ToArray()
		if err != nil {
			return 0, err
		}
		for _, m := range ms {
			str, err := m.ToString()
			if err != nil {
				return 0, err
			}
			if _, err := parseMember(str); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

func (r *rueidisBench) exec(ctx context.Context, s *script, args []string) error {
	return r.scripts[s.name].Exec(ctx, r.c, nil, args).Error()
}

func (r *rueidisBench) close() { r.c.Close() }

func BenchmarkClient(b *testing.B) {
	srv := testredis.Start(b)
	ctx := context.Background()
	clients := map[string]func() benchClient{
		"go-redis": func() benchClient {
			g := &goRedisBench{c: goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1}), scripts: map[string]*goredis.Script{}}
			for _, s := range []*script{scriptPublish, scriptRead, scriptRegisterChannel} {
				g.scripts[s.name] = goredis.NewScript(s.src)
			}
			return g
		},
		"rueidis": func() benchClient {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true, DisableRetry: true})
			if err != nil {
				b.Fatal(err)
			}
			r := &rueidisBench{c: c, scripts: map[string]*rueidis.Lua{}}
			for _, s := range []*script{scriptPublish, scriptRead, scriptRegisterChannel} {
				r.scripts[s.name] = rueidis.NewLuaScript(s.src)
			}
			return r
		},
	}
	for _, name := range []string{"go-redis", "rueidis"} {
		c := clients[name]()
		prefix := "bench:" + name + ":"
		var chans []string
		for i := range 3 {
			ch := fmt.Sprintf("c%d", i)
			chans = append(chans, ch)
			if err := c.exec(ctx, scriptRegisterChannel, []string{prefix, "0", "0", ch, "0", "100"}); err != nil {
				b.Fatal(err)
			}
		}
		content := string(make([]byte, 100))
		publish := func() int64 {
			id, err := c.run(ctx, scriptPublish, []string{prefix, "0", chans[0], content, "0"})
			if err != nil {
				b.Fatal(err)
			}
			return id
		}
		// Ten messages per channel newer than since.
		var since int64
		for range 20 {
			since = publish()
		}
		for _, ch := range chans {
			for range 10 {
				if _, err := c.run(ctx, scriptPublish, []string{prefix, "0", ch, content, "0"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		readArgs := append([]string{prefix, "0", "0", "0", "", strconv.FormatInt(since, 10), "0"}, chans...)
		read := func() {
			n, err := c.run(ctx, scriptRead, readArgs)
			if err != nil {
				b.Fatal(err)
			}
			if n != 30 {
				b.Fatalf("got %d messages, want 30", n)
			}
		}
		b.Run(name+"/read3x10", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
		})
		b.Run(name+"/read3x10-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					read()
				}
			})
		})
		b.Run(name+"/publish", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				publish()
			}
		})
		b.Run(name+"/publish-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					publish()
				}
			})
		})
		c.close()
	}
}
