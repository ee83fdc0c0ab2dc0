package enginetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func register(t testing.TB, e comet.Engine, name string, o comet.ChannelOptions) {
	t.Helper()
	if err := e.RegisterChannel(ctx(t), name, o); err != nil {
		t.Fatalf("RegisterChannel(%q): got %v, want nil", name, err)
	}
}

func registerClient(t testing.TB, e comet.Engine, id string) {
	t.Helper()
	if err := e.RegisterClient(ctx(t), id); err != nil {
		t.Fatalf("RegisterClient(%q): got %v, want nil", id, err)
	}
}

func publish(t testing.TB, e comet.Engine, name, content string) comet.Message {
	t.Helper()
	m, err := e.Publish(ctx(t), name, content)
	if err != nil {
		t.Fatalf("Publish(%q): got %v, want nil", name, err)
	}
	if m.Content != content {
		t.Fatalf("Publish(%q): got content %q, want %q", name, m.Content, content)
	}
	return m
}

func read(t testing.TB, e comet.Engine, q comet.ReadQuery) comet.ReadResult {
	t.Helper()
	res, err := e.Read(ctx(t), q)
	if err != nil {
		t.Fatalf("Read(%+v): got %v, want nil", q, err)
	}
	checkView(t, res)
	return res
}

// checkView checks what every read result must satisfy: messages oldest
// first and none newer than LastID nor older than Since+1.
func checkView(t testing.TB, res comet.ReadResult) {
	t.Helper()
	if res.Since > res.LastID {
		t.Fatalf("Read: got since %d > last_id %d, want since <= last_id", res.Since, res.LastID)
	}
	for _, c := range res.Channels {
		prev := res.Since
		for _, m := range c.Messages {
			if m.ID <= prev {
				t.Fatalf("Read: channel %q: got id %d after %d, want strictly increasing ids above since %d", c.Channel, m.ID, prev, res.Since)
			}
			if m.ID > res.LastID {
				t.Fatalf("Read: channel %q: got id %d > last_id %d", c.Channel, m.ID, res.LastID)
			}
			prev = m.ID
		}
	}
}

func readErr(t testing.TB, e comet.Engine, q comet.ReadQuery, want error) {
	t.Helper()
	res, err := e.Read(ctx(t), q)
	if !errors.Is(err, want) {
		t.Fatalf("Read(%+v): got (%+v, %v), want error %v", q, res, err, want)
	}
}

// channelNames lists the channels of a result in order.
func channelNames(res comet.ReadResult) []string {
	out := make([]string, 0, len(res.Channels))
	for _, c := range res.Channels {
		out = append(out, c.Channel)
	}
	return out
}

// messagesOf returns the messages of one channel in a result (nil if the
// channel is absent).
func messagesOf(res comet.ReadResult, channel string) []comet.Message {
	for _, c := range res.Channels {
		if c.Channel == channel {
			return c.Messages
		}
	}
	return nil
}

func contents(ms []comet.Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

func wantStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func q(since int64, channels ...string) comet.ReadQuery {
	return comet.ReadQuery{Channels: channels, Since: since}
}

func qc(client string, since int64, channels ...string) comet.ReadQuery {
	return comet.ReadQuery{Channels: channels, Since: since, ClientID: client, HasClient: true}
}
