//go:build unix

package redisengine

// What --redis-wait-replicas=1 costs per publish (docs/REDIS.md): the same
// engine publish (100-byte content, appendfsync always on both servers)
// against a primary with one replica on loopback, without and with the
// WAIT. Run with
//
//	go test -run '^$' -bench WaitReplicas -benchmem ./internal/redisengine/

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func BenchmarkPublishWaitReplicas(b *testing.B) {
	primary, _ := replicated(b)
	content := strings.Repeat("x", 100)
	for _, n := range []int{0, 1} {
		name := map[int]string{0: "none", 1: "one"}[n]
		e, err := New(Options{URL: primary.URL, Prefix: "bw" + name + ":", WaitReplicas: n, OpTimeout: 2 * time.Second}, nopNotifier{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{MaxMessages: 100}); err != nil {
			b.Fatal(err)
		}
		b.Run("serial/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Publish(ctx, "c", content); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel/"+name, func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Publish(ctx, "c", content); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		e.Close()
	}
}

type nopNotifier struct{}

func (nopNotifier) Notify(string, comet.WakeReason) {}
func (nopNotifier) NotifyAll(comet.WakeReason)      {}
