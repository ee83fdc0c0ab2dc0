package comet

import "testing"

// A Remove that returns lets the caller reuse the poll at once (httpapi
// reuses parked reads): the Hub is done with it, even when Notify let it
// go on another goroutine (Remove then takes no lock). Under -race, a Hub
// that still read the poll after saying it was removed is reported.
func TestHubRemoveLetsPollBeReused(t *testing.T) {
	h := NewHub(0)
	woke := make(chan struct{}, 1)
	w := WakeFunc(func(WakeReason) { woke <- struct{}{} })
	var p Poll
	for range 500 {
		initPoll(&p, []string{"a", "b", "c"}, "", false)
		p.fn = w
		if err := h.Add(&p); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { h.Notify("b", WakeMessage); close(done) }()
		<-woke
		h.Remove(&p)
		p = Poll{} // reused at once
		<-done
	}
	if h.Held() != 0 || h.Watched() != 0 {
		t.Fatalf("left %d polls on %d channels", h.Held(), h.Watched())
	}
}
