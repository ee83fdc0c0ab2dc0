package integration

import (
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// "Reserved $ channels are never listed or counted": the server's own
// $status publications stay out of the channel list, channels_count and
// messages_published.
func TestStatusLeavesReservedChannelsOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=2")
		api.Register(t, s.URL, "user")
		for _, c := range []string{"1", "2", "3"} {
			api.Publish(t, s.URL, "user", c)
		}
		// Wait until the server has published to $status at least twice.
		api.Eventually(t, "two $status messages", 30e9, func() bool {
			r := api.Get(t, s.URL, "/channels/%24status.json")
			return r.Code(t) == 1 && len(r.Read(t).Messages["$status"]) >= 2
		})
		for _, p := range []string{"/status.json", "/stats.json"} {
			m := api.Get(t, s.URL, p).WantStatus(t, 200).WantCode(t, 1)
			st := m["status"].(map[string]any)
			for _, o := range []map[string]any{st, m} {
				if got := api.Num(t, o["messages_published"]); got != 3 {
					t.Fatalf("%s messages_published: got %d, want 3 (the user's only)", p, got)
				}
				if got := api.Num(t, o["channels_count"]); got != 1 {
					t.Fatalf("%s channels_count: got %d, want 1", p, got)
				}
			}
			for _, c := range st["channels"].([]any) {
				if strings.HasPrefix(c.(string), "$") {
					t.Fatalf("%s channels: got %v, want no reserved name", p, st["channels"])
				}
			}
		}
	})
}
