package redisengine

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

// replicated starts a primary and one replica in sync with it.
func replicated(t testing.TB) (primary, replica *redis.Server) {
	t.Helper()
	primary = redis.Start(t)
	replica = redis.StartReplica(t, primary)
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, _ := c.Info(bg(t), "replication").Result()
		if strings.Contains(info, "state=online") {
			return primary, replica
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica is not in sync after 30s: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
