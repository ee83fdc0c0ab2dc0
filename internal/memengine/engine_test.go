package memengine_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/enginetest"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEngine runs the shared engine suite. A memory engine's storage dies
// with it, so a "restart" is a new engine: only its ids carry over, through
// the clock.
func TestEngine(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, n comet.Notifier, o enginetest.Options) comet.Engine {
		return memengine.New(memengine.Options{
			ChannelTimeout:     o.ChannelTimeout,
			SessionTimeout:     o.SessionTimeout,
			DefaultMaxMessages: o.DefaultMaxMessages,
			MaxChannels:        o.MaxChannels,
			MaxClients:         o.MaxClients,
		}, n)
	})
}
