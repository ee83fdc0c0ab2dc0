//go:build linux

package parking

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// ringLot is an inline Lot with one loop, sending through io_uring when
// ring is set. Without io_uring here, a test of the ring skips (fails
// with CI=true: CI runs on a kernel that has it, unless the tests run
// under an emulator, COMET_TEST_EXEC: qemu-user has no io_uring).
func ringLot(t *testing.T, ring bool) (*Lot, *echoServer, net.Listener) {
	t.Helper()
	e := &echoServer{held: make(chan *Spot, 1)}
	lot, err := New(Options{Workers: 1, Server: e, Inline: true, Loops: 1, IOUring: ring, IdleTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.lot = lot
	if on, err := lot.IOUring(); ring && !on {
		lot.Close()
		if os.Getenv("CI") == "true" && os.Getenv("COMET_TEST_EXEC") == "" {
			t.Fatalf("io_uring is not available: %v", err)
		}
		t.Skipf("SKIP: io_uring is not available here: %v", err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.Listen(inner)
	t.Cleanup(func() {
		ln.Close()
		lot.Close()
	})
	return lot, e, ln
}

// parkMany connects n clients and parks their server ends.
func parkMany(t *testing.T, lot *Lot, ln net.Listener, n int) ([]net.Conn, []*bufio.Reader, []*Spot) {
	t.Helper()
	var clients []net.Conn
	var readers []*bufio.Reader
	var spots []*Spot
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s, err := lot.Park(sc, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		clients, readers, spots = append(clients, c), append(readers, bufio.NewReader(c)), append(spots, s)
	}
	return clients, readers, spots
}

// onLoop runs f as a task on s's loop and waits for it.
func onLoop(s *Spot, f func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	s.Submit(TaskFunc(func() {
		defer wg.Done()
		f()
	}))
	wg.Wait()
}

// answerAll answers every spot from one task on their loop, as a wake
// does: with the ring, the answers go out in batches.
func answerAll(spots []*Spot, resp func(i int) []byte) {
	onLoop(spots[0], func() {
		for i, s := range spots {
			s.Answer(resp(i), true)
		}
	})
}

// More answers than a ring holds, and more requests than one batch of
// reads, in one round each: every client gets its answer, and its next
// request is read and served, with the ring and without.
func TestBatchedAnswersAndReads(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(fmt.Sprint("ring=", ring), func(t *testing.T) {
			lot, _, ln := ringLot(t, ring)
			const n = ringEntries + 44 // 300: two submissions; five batches of reads
			clients, readers, spots := parkMany(t, lot, ln, n)
			answerAll(spots, func(i int) []byte { return fmt.Appendf(nil, "answer %d\n", i) })
			for i, r := range readers {
				if line, err := r.ReadString('\n'); line != fmt.Sprintf("answer %d\n", i) {
					t.Fatalf("client %d: got %q, %v", i, line, err)
				}
			}
			for i, c := range clients {
				fmt.Fprintf(c, "req%d\r\n", i)
			}
			for i, r := range readers {
				if line, err := r.ReadString('\n'); line != fmt.Sprintf("ok req%d\n", i) {
					t.Fatalf("client %d: got %q, %v", i, line, err)
				}
			}
			if got := lot.Parked(); got != 0 {
				t.Fatalf("%d still parked", got)
			}
		})
	}
}

// An answer larger than the socket takes at once is finished by the slow
// path after a partial send; one to a client that left drops only its
// connection.
func TestBatchedPartialSendAndGone(t *testing.T) {
	lot, _, ln := ringLot(t, true)
	clients, readers, spots := parkMany(t, lot, ln, 3)
	big := bytes.Repeat([]byte("x"), 8<<20)
	big[len(big)-1] = '\n'
	clients[1].(*net.TCPConn).SetLinger(0)
	clients[1].Close() // reset: its answer fails
	time.Sleep(50 * time.Millisecond)
	answerAll(spots, func(i int) []byte {
		if i == 0 {
			return big
		}
		return []byte("small\n")
	})
	if line, err := readers[2].ReadString('\n'); line != "small\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	got, err := readers[0].ReadString('\n')
	if err != nil || len(got) != len(big) {
		t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(big))
	}
	// Both connections that got their answers are kept.
	for _, i := range []int{0, 2} {
		io.WriteString(clients[i], "again\r\n")
		if line, err := readers[i].ReadString('\n'); line != "ok again\n" {
			t.Fatalf("client %d: got %q, %v", i, line, err)
		}
	}
}

// When a submission fails, what it left out is written and read the
// plain way, and the loop goes on without the ring.
func TestRingFailureFallsBack(t *testing.T) {
	lot, _, ln := ringLot(t, true)
	clients, readers, spots := parkMany(t, lot, ln, 5)
	r := lot.loops[0].ring // the loop's own: touched only from tasks on it
	var fd int
	var disabled bool
	onLoop(spots[0], func() {
		fd, r.fd = r.fd, 1<<20 // not a ring: io_uring_enter fails with EBADF
	})
	defer onLoop(spots[0], func() { r.fd = fd })
	answerAll(spots, func(i int) []byte { return fmt.Appendf(nil, "answer %d\n", i) })
	for i, rd := range readers {
		if line, err := rd.ReadString('\n'); line != fmt.Sprintf("answer %d\n", i) {
			t.Fatalf("client %d: got %q, %v", i, line, err)
		}
	}
	onLoop(spots[0], func() { disabled = r.disabled })
	if !disabled {
		t.Fatal("the ring was not disabled after a failed submission")
	}
	for i, c := range clients {
		fmt.Fprintf(c, "r%d\r\n", i)
		if line, err := readers[i].ReadString('\n'); !strings.HasPrefix(line, "ok r") {
			t.Fatalf("client %d: got %q, %v", i, line, err)
		}
	}
}
