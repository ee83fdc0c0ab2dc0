package comet

import "time"

// Message is one published message. ID is unique and strictly increasing
// across the whole server (every channel, every node sharing an engine).
type Message struct {
	ID      int64
	TS      int64 // publish time, Unix seconds
	Content string
}

// IDUnit is the resolution of message ids: ids count 10 µs steps since the
// Unix epoch, so an id is roughly time × 100000.
const IDUnit = 10 * time.Microsecond

// TimeID is the id clock reading for t: t in units of 10 µs since the epoch.
func TimeID(t time.Time) int64 { return t.UnixNano() / int64(IDUnit) }

// NextID returns max(last+1, TimeID(now)): the rule every engine uses so that
// ids stay strictly increasing and, being time-derived, stay above those
// issued before a restart.
func NextID(last int64, now time.Time) int64 {
	if t := TimeID(now); t > last {
		return t
	}
	return last + 1
}
