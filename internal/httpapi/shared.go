package httpapi

import (
	"strconv"
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
	entries map[string]sharedAnswer
}

type sharedAnswer struct {
	resp     []byte
	messages int
}

// maxShared bounds the entries of one generation.
const maxShared = 4096

func (s *sharedAnswers) get(key string, gen uint64, now time.Time) (sharedAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen || s.sec != now.Unix() {
		return sharedAnswer{}, false
	}
	a, ok := s.entries[key]
	return a, ok
}

// put stores an answer read when the generation was gen.
func (s *sharedAnswers) put(key string, gen uint64, now time.Time, a sharedAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen < s.gen || (gen == s.gen && now.Unix() < s.sec) {
		return // older than what is cached
	}
	if gen != s.gen || now.Unix() != s.sec || s.entries == nil {
		s.gen, s.sec = gen, now.Unix()
		s.entries = make(map[string]sharedAnswer)
	}
	if len(s.entries) < maxShared {
		s.entries[key] = a
	}
}

// shareKey identifies the reply a parked read waits for: same channels,
// since, reader, format and connection handling give the same bytes.
func (pr *parkedRead) shareKey() string {
	var buf [128]byte
	b := append(buf[:0], byte('0'+pr.o.format))
	if pr.o.quote {
		b = append(b, 'q')
	}
	if pr.keepAlive {
		b = append(b, 'k')
	}
	b = append(b, '|')
	b = append(b, pr.o.callback...)
	b = append(b, '|')
	b = strconv.AppendInt(b, pr.hold.Since(), 10)
	b = append(b, '|')
	if id, ok := pr.hold.Client(); ok {
		b = append(b, 'c')
		b = append(b, id...)
	}
	for _, c := range pr.hold.Channels() {
		b = append(b, '|')
		b = append(b, c...)
	}
	return string(b)
}
