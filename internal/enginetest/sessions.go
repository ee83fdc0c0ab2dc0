package enginetest

import (
	"testing"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func (s *suite) sessions(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "open", comet.ChannelOptions{})
	register(t, e, "private", comet.ChannelOptions{UseSessions: true})
	publish(t, e, "open", "o")
	publish(t, e, "private", "p")
	registerClient(t, e, "me")

	res := read(t, e, q(0, "private", "open"))
	wantStrings(t, "without client id: session channel skipped", channelNames(res), []string{"open"})
	readErr(t, e, q(0, "private"), comet.ErrNoValidChannels)
	res = read(t, e, qc("me", 0, "private", "open"))
	wantStrings(t, "with client id: both", channelNames(res), []string{"private", "open"})
	wantStrings(t, "private content", contents(messagesOf(res, "private")), []string{"p"})
	// A client id that is not registered is refused even when channels
	// exist, and before the no-valid-channels check (-3 before -2).
	readErr(t, e, qc("stranger", 0, "open"), comet.ErrUnknownClient)
	readErr(t, e, qc("stranger", 0, "missing"), comet.ErrUnknownClient)
	readErr(t, e, qc("me", 0, "missing"), comet.ErrNoValidChannels)
}
