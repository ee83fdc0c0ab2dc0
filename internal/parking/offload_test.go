//go:build linux

package parking

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitingServer answers "WAIT x" only where it may block (MayBlock), and
// asks for a worker (Offload) on an event loop; "NOW x" it answers
// anywhere.
type waitingServer struct {
	onLoop, offWorker atomic.Int32
}

func (w *waitingServer) Serve(c net.Conn, data []byte) Outcome {
	req := strings.TrimSpace(string(data))
	if strings.HasPrefix(req, "WAIT ") {
		if !MayBlock(c) {
			w.onLoop.Add(1)
			return Outcome{Offload: true}
		}
		w.offWorker.Add(1)
		time.Sleep(10 * time.Millisecond) // as a call to Redis would
	}
	return Outcome{Resp: []byte("ok " + req + "\n")}
}

// keptAlive is a connection to a Lot's listener whose first request was
// answered with keep-alive, so that its next ones go to the Lot's Server:
// the client's end, a reader of it, and the listener.
func keptAlive(t *testing.T, lot *Lot) (net.Conn, *bufio.Reader, net.Listener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.Listen(inner)
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	spot, err := lot.Park(server, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spot.Answer([]byte("first\n"), true)
	if line, _ := r.ReadString('\n'); line != "first\n" {
		t.Fatalf("got %q, want first", line)
	}
	return client, r, ln
}

// TestOffloadServesOnAWorker: an Inline Lot serves a request its Server
// offloads again on a worker, with the same bytes, and keeps serving the
// connection's next requests on the loop.
func TestOffloadServesOnAWorker(t *testing.T) {
	w := &waitingServer{}
	lot, err := New(Options{Workers: 2, Server: w, Inline: true, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer lot.Close()
	client, r, _ := keptAlive(t, lot)
	for _, req := range []string{"NOW a", "WAIT b", "NOW c", "WAIT d"} {
		io.WriteString(client, req+"\r\n")
		if line, _ := r.ReadString('\n'); line != "ok "+req+"\n" {
			t.Fatalf("got %q, want ok %s", line, req)
		}
	}
	if on, off := w.onLoop.Load(), w.offWorker.Load(); on != 2 || off != 2 {
		t.Fatalf("WAIT requests: got %d offloaded from the loop and %d served on a worker, want 2 and 2", on, off)
	}
}
