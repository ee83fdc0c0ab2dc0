package integration

import (
	"net/url"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

func TestChannelRegistration(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-messages-limit=50", "--messages-per-channel=3")
		m := api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"news"}}).WantStatus(t, 200).WantCode(t, 1)
		if m["channel_id"] != "news" {
			t.Fatalf("reply channel_id: got %v, want news", m["channel_id"])
		}
		m = api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"news"}}).WantStatus(t, 200).WantCode(t, -2)
		if m["error_message"] != "Channel already exists" {
			t.Fatalf("duplicate: got error_message %v, want \"Channel already exists\"", m["error_message"])
		}
		cases := []struct {
			name string
			form url.Values
			want int
		}{
			{"missing channel_id", url.Values{}, -1},
			{"empty channel_id", url.Values{"channel_id": {""}}, -1},
			{"max_messages 1", url.Values{"channel_id": {"m1"}, "max_messages": {"1"}}, 1},
			{"max_messages at the limit", url.Values{"channel_id": {"m50"}, "max_messages": {"50"}}, 1},
			{"max_messages over the limit", url.Values{"channel_id": {"m51"}, "max_messages": {"51"}}, -1},
			{"max_messages 0", url.Values{"channel_id": {"m0"}, "max_messages": {"0"}}, -1},
			{"max_messages negative", url.Values{"channel_id": {"mneg"}, "max_messages": {"-1"}}, -1},
			{"max_messages not a number", url.Values{"channel_id": {"mx"}, "max_messages": {"ten"}}, -1},
			{"max_messages empty is the default", url.Values{"channel_id": {"mdef"}, "max_messages": {""}}, 1},
			{"use_sessions bad word", url.Values{"channel_id": {"u"}, "use_sessions": {"maybe"}}, -1},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				api.Post(t, s.URL, "/channels.json", c.form).WantStatus(t, 200).WantCode(t, c.want)
			})
		}
		// Refused registrations registered nothing.
		for _, n := range []string{"m51", "m0", "mneg", "mx", "u"} {
			api.Post(t, s.URL, "/channels/"+n+".json", url.Values{"content": {"x"}}).WantCode(t, -2)
		}
		// Retention: max_messages given, and the --messages-per-channel default.
		for i := range 5 {
			api.Publish(t, s.URL, "m1", string(rune('a'+i)))
			api.Publish(t, s.URL, "mdef", string(rune('a'+i)))
		}
		rr := api.ReadNow(t, s.URL, []string{"m1", "mdef"}, "")
		if got := strings.Join(api.Contents(rr.Messages["m1"]), ""); got != "e" {
			t.Fatalf("max_messages=1: got %q, want e", got)
		}
		if got := strings.Join(api.Contents(rr.Messages["mdef"]), ""); got != "cde" {
			t.Fatalf("default retention 3: got %q, want cde", got)
		}
	})
}

func TestPublish(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t)
		api.Register(t, s.URL, "p")
		m := api.Post(t, s.URL, "/channels/p.json", url.Values{"content": {"hello"}}).WantStatus(t, 200).WantCode(t, 1)
		id := api.Num(t, m["message_id"])
		m2 := api.Post(t, s.URL, "/channels/p.json", url.Values{"content": {""}}).WantCode(t, 1)
		if id2 := api.Num(t, m2["message_id"]); id2 <= id {
			t.Fatalf("second message id: got %d, want above %d", id2, id)
		}
		api.Post(t, s.URL, "/channels/missing.json", url.Values{"content": {"x"}}).WantStatus(t, 200).WantCode(t, -2)
		api.Post(t, s.URL, "/channels/p.json", url.Values{}).WantCode(t, -1)
		// Invalid UTF-8 is refused, never replaced.
		api.Do(t, s.URL, "POST", "/channels/p.json", api.FormType, []byte("content=a%FFb")).WantCode(t, -1)
		rr := api.ReadNow(t, s.URL, []string{"p"}, "")
		if got := api.Contents(rr.Messages["p"]); len(got) != 2 || got[0] != "hello" || got[1] != "" {
			t.Fatalf("read: got %q, want [hello \"\"]", got)
		}
		if rr.Messages["p"][0].ID != id || rr.Messages["p"][0].TS <= 0 {
			t.Fatalf("read: got %+v, want id %d and a ts", rr.Messages["p"][0], id)
		}
	})
}

func TestRead(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-channels-per-read=3", "--http-timeout=1") // reads with nothing new are held
		for _, n := range []string{"a", "b", "c"} {
			api.Register(t, s.URL, n)
		}
		id1 := api.Publish(t, s.URL, "a", "a1")
		id2 := api.Publish(t, s.URL, "b", "b1")
		rr := api.ReadNow(t, s.URL, []string{"a", "b", "c", "missing"}[:3], "")
		if rr.Since != 0 || rr.LastID != id2 {
			t.Fatalf("got since %d last_id %d, want 0 and %d", rr.Since, rr.LastID, id2)
		}
		if len(rr.Messages) != 3 || len(rr.Messages["c"]) != 0 || rr.Messages["c"] == nil {
			t.Fatalf("got messages %v, want a, b and c (c as [])", rr.Messages)
		}
		if rr.Truncated != nil {
			t.Fatalf("got truncated %v with since 0, want none", rr.Truncated)
		}
		rr = api.ReadNow(t, s.URL, []string{"a", "missing", "b"}, "since="+itoa(id1))
		if len(rr.Messages) != 2 || len(rr.Messages["a"]) != 0 || api.Contents(rr.Messages["b"])[0] != "b1" || rr.Since != id1 {
			t.Fatalf("since %d with a missing channel: got %+v, want a: [], b: [b1]", id1, rr)
		}
		// Raw body check: "messages" maps names to arrays, [] where none.
		body := string(api.Get(t, s.URL, "/channels/"+api.List("a", "b")+".json?since="+itoa(id2)).Body)
		if !strings.Contains(body, `"messages":{"a":[],"b":[]}`) {
			t.Fatalf("read body %s: want \"messages\":{\"a\":[],\"b\":[]}", body)
		}
		api.Get(t, s.URL, "/channels/"+api.List("missing", "other")+".json").WantStatus(t, 200).WantCode(t, -2)
		api.Get(t, s.URL, "/channels/"+api.List("a", "b", "c", "missing")+".json").WantCode(t, -1) // 4 > 3 per read
		// Duplicates in the list count once.
		rr = api.ReadNow(t, s.URL, []string{"a", "a", "a"}, "")
		if len(rr.Messages) != 1 || len(rr.Messages["a"]) != 1 {
			t.Fatalf("duplicate names: got %v, want a once", rr.Messages)
		}
	})
}

func TestDeleteChannel(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1") // reads with nothing new are held
		api.Register(t, s.URL, "d")
		api.Publish(t, s.URL, "d", "x")
		m := api.Delete(t, s.URL, "/channels/d.json").WantStatus(t, 200).WantCode(t, 2)
		if m["channel_id"] != "d" || m["removed"] != true {
			t.Fatalf("delete: got %v, want channel_id d, removed true", m)
		}
		m = api.Delete(t, s.URL, "/channels/d.json").WantCode(t, 1)
		if m["channel_id"] != "d" || m["removed"] != false {
			t.Fatalf("delete twice: got %v, want channel_id d, removed false", m)
		}
		api.Post(t, s.URL, "/channels/d.json", url.Values{"content": {"x"}}).WantCode(t, -2)
		api.Get(t, s.URL, "/channels/d.json").WantCode(t, -2)
		api.Register(t, s.URL, "d")
		if rr := api.ReadNow(t, s.URL, []string{"d"}, ""); len(rr.Messages["d"]) != 0 {
			t.Fatalf("re-registered channel: got %v, want no messages", rr.Messages)
		}
	})
}

func TestClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1") // reads with nothing new are held
		api.Register(t, s.URL, "open")
		api.Register(t, s.URL, "private", "use_sessions", "1")
		api.Publish(t, s.URL, "private", "secret stuff")
		m := api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {"me"}}).WantStatus(t, 200).WantCode(t, 1)
		if m["client_id"] != "me" {
			t.Fatalf("register client: got client_id %v, want me", m["client_id"])
		}
		api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {"me"}}).WantCode(t, -2)
		api.Post(t, s.URL, "/clients.json", url.Values{}).WantCode(t, -1)
		api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {""}}).WantCode(t, -1)

		// Session channels: skipped without client_id, read with one.
		rr := api.ReadNow(t, s.URL, []string{"private", "open"}, "")
		if _, ok := rr.Messages["private"]; ok || len(rr.Messages) != 1 {
			t.Fatalf("without client_id: got %v, want only open", rr.Messages)
		}
		api.Get(t, s.URL, "/channels/private.json").WantCode(t, -2)
		rr = api.ReadNow(t, s.URL, []string{"private", "open"}, "client_id=me")
		if got := api.Contents(rr.Messages["private"]); len(got) != 1 {
			t.Fatalf("with client_id: got %v, want the private message", rr.Messages)
		}
		api.Get(t, s.URL, "/channels/open.json?client_id=stranger").WantCode(t, -3)
		api.Get(t, s.URL, "/channels/open.json?client_id=").WantCode(t, -1)

		m = api.Delete(t, s.URL, "/clients/me.json").WantStatus(t, 200).WantCode(t, 2)
		if m["client_id"] != "me" || m["removed"] != true {
			t.Fatalf("delete client: got %v, want client_id me, removed true", m)
		}
		m = api.Delete(t, s.URL, "/clients/me.json").WantCode(t, 1)
		if m["removed"] != false {
			t.Fatalf("delete client twice: got %v, want removed false", m)
		}
		api.Get(t, s.URL, "/channels/open.json?client_id=me").WantCode(t, -3)
	})
}

func TestTruncated(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t)
		api.Register(t, s.URL, "small", "max_messages", "2")
		api.Register(t, s.URL, "big")
		var ids []int64
		for i := range 5 {
			ids = append(ids, api.Publish(t, s.URL, "small", itoa(int64(i))))
			api.Publish(t, s.URL, "big", itoa(int64(i)))
		}
		rr := api.ReadNow(t, s.URL, []string{"small", "big"}, "since="+itoa(ids[0]))
		if len(rr.Truncated) != 1 || rr.Truncated[0] != "small" {
			t.Fatalf("since the first id: got truncated %v, want [small]", rr.Truncated)
		}
		if got := api.Contents(rr.Messages["small"]); strings.Join(got, ",") != "3,4" {
			t.Fatalf("since the first id: got %v, want [3 4]", got)
		}
		body := string(api.Get(t, s.URL, "/channels/small.json?since="+itoa(ids[2])).Body)
		if strings.Contains(body, "truncated") {
			t.Fatalf("since the last dropped id: got %s, want no truncated", body)
		}
		body = string(api.Get(t, s.URL, "/channels/small.json").Body)
		if strings.Contains(body, "truncated") {
			t.Fatalf("since 0: got %s, want no truncated", body)
		}
	})
}
