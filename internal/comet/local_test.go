package comet_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

// localEngine is an engine that may wait (it is not comet.NonBlocking)
// and answers reads locally only while hit is set, as the Redis engine's
// local copy does for what it holds.
type localEngine struct {
	comet.Engine
	hit   atomic.Bool
	local atomic.Int32 // local reads answered
}

func (e *localEngine) ReadLocal(q comet.ReadQuery) (comet.ReadResult, bool, error) {
	if !e.hit.Load() {
		return comet.ReadResult{}, false, nil
	}
	e.local.Add(1)
	res, err := e.Engine.Read(context.Background(), q)
	return res, true, err
}

// BeginLocal and FinishLocal never wait: where the engine cannot answer
// locally they change nothing and say so, and Begin and Finish then do
// the work where waiting is allowed.
func TestLocalBeginAndFinish(t *testing.T) {
	hub := comet.NewHub(0)
	mem := memengine.New(memengine.Options{}, hub)
	defer mem.Close()
	e := &localEngine{Engine: mem}
	svc := comet.NewService(e, hub, time.Minute, 0)
	defer svc.Close()
	if !svc.EngineBlocks() {
		t.Fatal("EngineBlocks: got false for an engine that is not NonBlocking")
	}
	ctx := context.Background()
	if err := mem.RegisterChannel(ctx, "a", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	last, err := mem.Read(ctx, comet.ReadQuery{Channels: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	q := comet.ReadQuery{Channels: []string{"a"}, Since: last.LastID}

	var h comet.Hold
	w := &wakes{}
	if out, err := svc.BeginLocal(&h, q, w); out != comet.Failed || !errors.Is(err, comet.ErrWouldBlock) {
		t.Fatalf("BeginLocal without a local answer: got (%v, %v), want Failed, ErrWouldBlock", out, err)
	}
	if hub.Held() != 0 || svc.Timing() != 0 {
		t.Fatalf("after a BeginLocal that would wait: %d held, %d timing; want none", hub.Held(), svc.Timing())
	}

	e.hit.Store(true)
	if out, err := svc.BeginLocal(&h, q, w); out != comet.Waiting || err != nil {
		t.Fatalf("BeginLocal with a local answer: got (%v, %v), want Waiting", out, err)
	}
	h.Await()
	if _, err := mem.Publish(ctx, "a", "m"); err != nil {
		t.Fatal(err)
	}
	e.hit.Store(false)
	if _, _, ok := svc.FinishLocal(&h); ok {
		t.Fatal("FinishLocal without a local answer: got ok, want not")
	}
	if svc.Timing() != 1 || h.Reusable() {
		t.Fatalf("after a FinishLocal that would wait: %d timing, want the hold still waiting for Finish", svc.Timing())
	}
	e.hit.Store(true)
	res, reason, ok := svc.FinishLocal(&h)
	if !ok || reason != comet.WakeMessage || len(res.Channels) != 1 || len(res.Channels[0].Messages) != 1 {
		t.Fatalf("FinishLocal: got (%+v, %v, %v), want the message, woken by it", res, reason, ok)
	}
	if hub.Held() != 0 || svc.Timing() != 0 {
		t.Fatalf("after FinishLocal: %d held, %d timing; want none", hub.Held(), svc.Timing())
	}

	// The memory engine never waits: its reads are local whatever it says.
	svc2 := comet.NewService(mem, hub, time.Minute, 0)
	defer svc2.Close()
	if svc2.EngineBlocks() {
		t.Fatal("EngineBlocks: got true for the memory engine")
	}
	var h2 comet.Hold
	if out, err := svc2.BeginLocal(&h2, q, w); out != comet.Answered || err != nil {
		t.Fatalf("BeginLocal on the memory engine: got (%v, %v), want Answered (a message is there)", out, err)
	}
}
