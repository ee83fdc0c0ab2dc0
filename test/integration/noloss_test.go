package integration

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// TestNoLoss: 4 publishers × 500 messages over 3 channels, 20 subscribers
// re-polling multi-channel reads with last_id. Every subscriber gets every
// message of its channels exactly once, in id order.
func TestNoLoss(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		const (
			publishers  = 4
			perPub      = 500
			subscribers = 20
		)
		channels := []string{"n0", "n1", "n2"}
		s := e.start(t, "--http-timeout=5", "--max-messages-limit=10000")
		for _, c := range channels {
			api.Register(t, s.URL, c, "max_messages", "5000")
		}
		// Subscriber i reads two or three of the channels.
		subs := make([][]string, subscribers)
		for i := range subs {
			switch i % 4 {
			case 0:
				subs[i] = channels
			default:
				subs[i] = []string{channels[i%3], channels[(i+1)%3]}
			}
		}
		perChannel := map[string]int{}
		for p := range publishers {
			for i := range perPub {
				perChannel[channels[(p+i)%len(channels)]]++
			}
		}
		start := api.Publish(t, s.URL, "n0", "start") // every subscriber begins here
		type got struct {
			byChannel map[string][]api.Message
			err       error
		}
		results := make([]got, subscribers)
		stop := make(chan struct{})
		var subWG sync.WaitGroup
		for i := range subscribers {
			subWG.Go(func() {
				res := &results[i]
				res.byChannel = map[string][]api.Message{}
				since := start
				path := "/channels/" + api.List(subs[i]...) + ".json?since="
				want := 0
				for _, c := range subs[i] {
					want += perChannel[c]
				}
				n := 0
				deadline := time.Now().Add(3 * time.Minute)
				for n < want {
					select {
					case <-stop:
						res.err = fmt.Errorf("stopped with %d of %d messages", n, want)
						return
					default:
					}
					if time.Now().After(deadline) {
						res.err = fmt.Errorf("timed out with %d of %d messages", n, want)
						return
					}
					r, err := api.Try(t.Context(), nil, s.URL, http.MethodGet, path+itoa(since), "", nil)
					if err != nil {
						res.err = err
						return
					}
					var rr api.ReadReply
					if err := jsonUnmarshal(r.Body, &rr); err != nil || rr.ReturnCode != 1 {
						res.err = fmt.Errorf("read: %v %s", err, r.Body)
						return
					}
					if rr.Since != since {
						res.err = fmt.Errorf("got since %d, want %d", rr.Since, since)
						return
					}
					for c, ms := range rr.Messages {
						for _, m := range ms {
							if m.ID <= since || m.ID > rr.LastID {
								res.err = fmt.Errorf("channel %s: got id %d outside (%d, %d]", c, m.ID, since, rr.LastID)
								return
							}
						}
						res.byChannel[c] = append(res.byChannel[c], ms...)
						n += len(ms)
					}
					if len(rr.Truncated) > 0 {
						res.err = fmt.Errorf("got truncated %v, want none", rr.Truncated)
						return
					}
					if rr.LastID < since {
						res.err = fmt.Errorf("last_id went backwards: %d < %d", rr.LastID, since)
						return
					}
					since = rr.LastID
				}
			})
		}
		var pubWG sync.WaitGroup
		pubErrs := make(chan error, publishers)
		for p := range publishers {
			pubWG.Go(func() {
				for i := range perPub {
					ch := channels[(p+i)%len(channels)]
					r, err := api.Try(t.Context(), nil, s.URL, http.MethodPost, "/channels/"+ch+".json", api.FormType, []byte(fmt.Sprintf("content=%d-%d", p, i)))
					if err != nil || r.Status != 200 {
						pubErrs <- fmt.Errorf("publish %d-%d: %v %d %s", p, i, err, r.Status, r.Body)
						return
					}
				}
			})
		}
		pubWG.Wait()
		close(pubErrs)
		for err := range pubErrs {
			close(stop)
			subWG.Wait()
			t.Fatal(err)
		}
		subWG.Wait()
		// What was published, per channel, in id order (a read of all).
		all := api.ReadNow(t, s.URL, channels, "since="+itoa(start))
		for i, res := range results {
			if res.err != nil {
				t.Fatalf("subscriber %d: %v", i, res.err)
			}
			for _, c := range subs[i] {
				want, gotMs := all.Messages[c], res.byChannel[c]
				if len(gotMs) != len(want) {
					t.Fatalf("subscriber %d channel %s: got %d messages, want %d", i, c, len(gotMs), len(want))
				}
				for k := range want {
					if gotMs[k] != want[k] {
						t.Fatalf("subscriber %d channel %s message %d: got %+v, want %+v (exactly once, in id order)", i, c, k, gotMs[k], want[k])
					}
				}
			}
			if len(res.byChannel) != len(subs[i]) {
				t.Fatalf("subscriber %d: got channels %d, want %d", i, len(res.byChannel), len(subs[i]))
			}
		}
		total := 0
		for _, c := range channels {
			total += len(all.Messages[c])
		}
		if total != publishers*perPub {
			t.Fatalf("stored: got %d messages, want %d", total, publishers*perPub)
		}
	})
}
