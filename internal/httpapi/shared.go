package httpapi

import (
	"strings"
	"sync"
	"time"
)

// sharedAnswers lets parked polls that wait for the same reply share one
// read and one encoding: when a publish wakes a thousand polls on one
// channel with the same since, the first worker reads and encodes, the
// others write the same bytes. An entry is valid only while the Hub's
// generation has not moved since the read began (see comet.Hub.Generation)
// and within the same second (the Date and Expires headers).
type sharedAnswers struct {
	mu      sync.Mutex
	gen     uint64
	sec     int64
	entries map[shareKey]sharedAnswer
}

type sharedAnswer struct {
	resp     []byte
	messages int
}

// maxShared bounds the entries of one generation.
const maxShared = 4096

func (s *sharedAnswers) get(key shareKey, gen uint64, now time.Time) (sharedAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen || s.sec != now.Unix() {
		return sharedAnswer{}, false
	}
	a, ok := s.entries[key]
	return a, ok
}

// put stores an answer read when the generation was gen.
func (s *sharedAnswers) put(key shareKey, gen uint64, now time.Time, a sharedAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen < s.gen || (gen == s.gen && now.Unix() < s.sec) {
		return // older than what is cached
	}
	if gen != s.gen || now.Unix() != s.sec || s.entries == nil {
		s.gen, s.sec = gen, now.Unix()
		s.entries = make(map[shareKey]sharedAnswer)
	}
	if len(s.entries) < maxShared {
		s.entries[key] = a
	}
}

// shareKey identifies the reply a parked read waits for: same channels,
// since, reader, format and connection handling give the same bytes. Its
// strings are the hold's own, so that making one allocates nothing for a
// read of one channel.
type shareKey struct {
	flags    uint8 // format, quote, keep-alive, has a client
	since    int64
	callback string
	client   string
	channels string // the channel, or the channels joined by '|'
}

func (pr *parkedRead) shareKey() shareKey {
	k := shareKey{flags: uint8(pr.o.format) << 2, since: pr.held.Since(), callback: pr.o.callback}
	if pr.o.quote {
		k.flags |= 1
	}
	if pr.keepAlive {
		k.flags |= 2
	}
	if id, ok := pr.held.Client(); ok {
		k.flags |= 0x80
		k.client = id
	}
	if chans := pr.held.Channels(); len(chans) == 1 {
		k.channels = chans[0]
	} else {
		k.channels = strings.Join(chans, "|")
	}
	return k
}
