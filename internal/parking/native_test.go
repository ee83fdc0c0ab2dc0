//go:build linux

package parking

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer answers "GET x" with "ok x\n", parks "HOLD", hands "PASS" off.
type echoServer struct {
	lot  *Lot
	held chan *Spot
}

func (e *echoServer) Serve(c net.Conn, data []byte) Outcome {
	req := strings.TrimSpace(string(data))
	switch {
	case req == "HOLD":
		s, err := e.lot.Park(c, nil, nil)
		if err != nil {
			return Outcome{Resp: []byte("park failed\n"), Close: true}
		}
		e.held <- s
		return Outcome{Parked: true}
	case req == "PASS":
		return Outcome{HandOff: true}
	case req == "BYE":
		return Outcome{Resp: []byte("bye\n"), Close: true}
	case req == "PANIC":
		panic("boom")
	}
	return Outcome{Resp: []byte("ok " + req + "\n")}
}

func TestNativeServerKeepsConnections(t *testing.T) {
	e := &echoServer{held: make(chan *Spot, 1)}
	lot, err := New(Options{Workers: 2, Server: e, IdleTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.lot = lot
	defer lot.Close()
	// A held poll answered with keep-alive stays in the Lot ...
	client, r, ln := keptAlive(t, lot)
	// ... and its next requests are served by the Server, without net/http.
	for _, req := range []string{"a", "b"} {
		io.WriteString(client, req+"\r\n")
		if line, _ := r.ReadString('\n'); line != "ok "+req+"\n" {
			t.Fatalf("got %q, want ok %s", line, req)
		}
	}
	// A request that is held again parks on the same connection.
	io.WriteString(client, "HOLD\r\n")
	var again *Spot
	select {
	case again = <-e.held:
	case <-time.After(5 * time.Second):
		t.Fatal("HOLD was not parked within 5s")
	}
	if got := lot.Parked(); got != 1 {
		t.Fatalf("got %d parked, want 1", got)
	}
	again.Answer([]byte("second\n"), true)
	if line, _ := r.ReadString('\n'); line != "second\n" {
		t.Fatalf("got %q, want second", line)
	}
	// What the Server does not serve goes to net/http (here: Accept), replayed.
	io.WriteString(client, "PASS\r\n")
	back, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(back, buf); err != nil || string(buf) != "PASS\r\n" {
		t.Fatalf("got %q, %v, want the request replayed", buf, err)
	}
	back.Close()

	// An idle connection is closed after the idle timeout.
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s2, _ := ln.Accept()
	sp2, err := lot.Park(s2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp2.Answer([]byte("x\n"), true)
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, _ := io.ReadAll(c2)
	if string(data) != "x\n" {
		t.Fatalf("got %q, want the answer then EOF at the idle timeout", data)
	}
}

// A Server that panics on an inline loop closes that connection and logs
// through Options.Logger; the loop goes on serving the others.
func TestServerPanicIsContained(t *testing.T) {
	var logs syncBuffer
	e := &echoServer{held: make(chan *Spot, 1)}
	lot, err := New(Options{Workers: 1, Server: e, Inline: true, Loops: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.lot = lot
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.ListenNative(inner)
	defer ln.Close()
	defer lot.Close()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	bad, badR := dial()
	good, goodR := dial()
	io.WriteString(bad, "PANIC\r\n")
	if data, err := io.ReadAll(badR); err != nil || len(data) != 0 {
		t.Fatalf("got %q, %v, want the connection closed with nothing written", data, err)
	}
	io.WriteString(good, "a\r\n")
	if line, _ := goodR.ReadString('\n'); line != "ok a\n" {
		t.Fatalf("got %q after a panic on another connection, want ok a", line)
	}
	if got := logs.String(); !strings.Contains(got, "panic") || !strings.Contains(got, "boom") {
		t.Fatalf("got log %q, want the panic boom in it", got)
	}
}
