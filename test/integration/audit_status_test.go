package integration

import (
	"strings"
	"testing"
)

// "Reserved $ channels are never listed or counted": the server's own
// $status publications stay out of the channel list, channels_count and
// messages_published.
func TestAuditStatusLeavesReservedChannelsOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=2")
		registerChannel(t, s, "user")
		for _, c := range []string{"1", "2", "3"} {
			publish(t, s, "user", c)
		}
		// Wait until the server has published to $status at least twice.
		eventually(t, "two $status messages", 30e9, func() bool {
			r := get(t, s, "/channels/%24status.json")
			return r.code(t) == 1 && len(r.read(t).Messages["$status"]) >= 2
		})
		for _, p := range []string{"/status.json", "/stats.json"} {
			m := get(t, s, p).wantStatus(t, 200).wantCode(t, 1)
			st := m["status"].(map[string]any)
			for _, o := range []map[string]any{st, m} {
				if got := num(t, o["messages_published"]); got != 3 {
					t.Fatalf("%s messages_published: got %d, want 3 (the user's only)", p, got)
				}
				if got := num(t, o["channels_count"]); got != 1 {
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
