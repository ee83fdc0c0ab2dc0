package integration

import (
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/redis"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// engine is one engine the whole suite runs against.
type engine struct {
	name string
	kind string // the engine's name in /status.json, when not name
	// args returns the server switches that select the engine for one
	// test (a fresh, empty store each time); it may t.Skip, or t.Fatal
	// when CI=true, when the engine's daemon is missing.
	args func(t testing.TB) []string
}

// engines lists every engine the integration suite runs on. The memory
// engine needs no switch.
func engines() []engine {
	return []engine{
		{name: "memory", args: func(testing.TB) []string { return nil }},
		// Held polls inside net/http instead of parked connections.
		{name: "memory-nethttp", kind: "memory", args: func(testing.TB) []string { return []string{"--lean-polls=false"} }},
		// Parked connections written and read one system call each, as
		// where io_uring is not allowed.
		{name: "memory-noring", kind: "memory", args: func(testing.TB) []string { return []string{"--io-uring=false"} }},
		{name: "redis", args: func(t testing.TB) []string {
			t.Helper()
			r := redis.Start(t)
			return []string{"--redis-url=" + r.URL}
		}},
	}
}

// eachEngine runs f once per engine, as a subtest named after it.
func eachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	t.Helper()
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// start runs the real server on this engine with extra switches.
func (e engine) start(t testing.TB, args ...string) *server.Server {
	t.Helper()
	return server.Start(t, append(e.args(t), args...)...)
}

// startEnv is start with environment variables (KEY=VALUE).
func (e engine) startEnv(t testing.TB, env []string, args ...string) *server.Server {
	t.Helper()
	return server.StartEnv(t, env, append(e.args(t), args...)...)
}

// engineName is what /status.json reports as the engine.
func (e engine) engineName() string {
	if e.kind != "" {
		return e.kind
	}
	return e.name
}
