package api_test

import (
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

// TestAgainstRealServer walks the client through the API once: a channel
// and a client registered, a publish, a read, a held poll released by a
// publish, the status and a delete.
func TestAgainstRealServer(t *testing.T) {
	s := server.Start(t, "--enable-status", "--http-timeout=20")
	api.Register(t, s.URL, "a", "max_messages", "5")
	api.Register(t, s.URL, "b c")
	api.RegisterClient(t, s.URL, "c1")
	id := api.Publish(t, s.URL, "a", "one")
	rr := api.ReadNow(t, s.URL, []string{"a"}, "since=0")
	if got := api.Contents(rr.Messages["a"]); len(got) != 1 || got[0] != "one" || rr.LastID != id {
		t.Fatalf("read: got %v last_id %d, want [one] and %d", got, rr.LastID, id)
	}

	ch := api.Async(t.Context(), s.URL, http.MethodGet, "/channels/"+api.List("a", "b c")+".json?since="+strconv.FormatInt(id, 10))
	api.Eventually(t, "the poll is held", 10*time.Second, func() bool { return api.Held(t, s.URL) == 1 })
	api.StillHeld(t, ch, 100*time.Millisecond)
	id2 := api.Publish(t, s.URL, "a", "two")
	rr = api.Wait(t, ch, 10*time.Second).Read(t)
	if got := api.Contents(rr.Messages["a"]); len(got) != 1 || got[0] != "two" || rr.LastID != id2 {
		t.Fatalf("held poll: got %v last_id %d, want [two] and %d", got, rr.LastID, id2)
	}

	if n := api.Num(t, api.Status(t, s.URL)["channels_count"]); n != 2 {
		t.Errorf("status: got channels_count %d, want 2", n)
	}
	api.Delete(t, s.URL, "/channels/a.json").WantStatus(t, http.StatusOK)
	if c := api.Get(t, s.URL, "/channels/a.json?since=0").Code(t); c == 1 {
		t.Errorf("read after delete: got return_code 1, want an error")
	}
}
