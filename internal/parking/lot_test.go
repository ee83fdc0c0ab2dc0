//go:build linux

package parking

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns a Lot, its listener and a client connected through it, with
// the server side as accepted from the listener.
func setup(t *testing.T) (*Lot, net.Listener, net.Conn, net.Conn) {
	t.Helper()
	lot, err := New(Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.Listen(inner)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !Parkable(server) {
		t.Fatal("got a connection that is not parkable, want parkable")
	}
	t.Cleanup(func() {
		client.Close()
		ln.Close()
		lot.Close()
	})
	return lot, ln, client, server
}

func TestAnswerHandsBackWithPrefix(t *testing.T) {
	lot, ln, client, server := setup(t)
	spot, err := lot.Park(server, []byte("NEXT"), TaskFunc(func() { t.Error("gone called for a live client") }))
	if err != nil {
		t.Fatal(err)
	}
	if got := lot.Parked(); got != 1 {
		t.Fatalf("got %d parked, want 1", got)
	}
	if !spot.Answer([]byte("hello\n"), true) {
		t.Fatal("Answer returned false for a live client")
	}
	line, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("got %q, %v, want hello", line, err)
	}
	back, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(back, buf); err != nil || string(buf) != "NEXT" {
		t.Fatalf("got %q, %v, want the replayed prefix NEXT", buf, err)
	}
	if got := lot.Parked(); got != 0 {
		t.Fatalf("got %d parked after the answer, want 0", got)
	}
	if spot.Answer([]byte("again"), true) {
		t.Fatal("a second Answer succeeded, want false")
	}
	back.Close()
}

func TestHangUpRunsGoneOnce(t *testing.T) {
	lot, _, client, server := setup(t)
	gone := make(chan struct{}, 2)
	spot, err := lot.Park(server, nil, TaskFunc(func() { gone <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	client.Close()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("gone was not called within 10s of the hang-up")
	}
	if spot.Answer([]byte("late"), true) {
		t.Fatal("Answer after a hang-up returned true, want false")
	}
	deadline := time.Now().Add(5 * time.Second)
	for lot.Parked() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := lot.Parked(); got != 0 {
		t.Fatalf("got %d parked, want 0", got)
	}
	select {
	case <-gone:
		t.Fatal("gone called twice")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestCloseClosesParkedAndNoKeepAlive(t *testing.T) {
	lot, _, client, server := setup(t)
	if _, err := lot.Park(server, nil, nil); err != nil {
		t.Fatal(err)
	}
	lot.Close()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a connection closed by Lot.Close succeeded, want EOF")
	}

	lot2, ln2, client2, server2 := setup(t)
	spot, err := lot2.Park(server2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spot.Answer([]byte("bye"), false)
	data, _ := io.ReadAll(client2)
	if string(data) != "bye" {
		t.Fatalf("got %q, want bye then EOF", data)
	}
	_ = ln2
}

func TestNotParkable(t *testing.T) {
	lot, err := New(Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lot.Close()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := lot.Park(a, nil, nil); err != ErrNotParkable {
		t.Fatalf("got %v, want ErrNotParkable", err)
	}
	if Parkable(a) {
		t.Fatal("a pipe is parkable, want not")
	}
}

// A task that panics is contained and logged through Options.Logger: the
// next one still runs.
func TestRunTaskLogsPanics(t *testing.T) {
	var logs syncBuffer
	lot, err := New(Options{Workers: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer lot.Close()
	ran := false
	lot.runTask(TaskFunc(func() { panic("boom") }))
	lot.runTask(TaskFunc(func() { ran = true }))
	if !ran {
		t.Fatal("the task after a panicking one did not run")
	}
	if got := logs.String(); !strings.Contains(got, "panic") || !strings.Contains(got, "boom") {
		t.Fatalf("got log %q, want the panic boom in it", got)
	}
}

// Drain returns as soon as the last held poll is answered, and false
// when the deadline passes with one still held.
func TestDrain(t *testing.T) {
	lot, _, client, server := setup(t)
	if !lot.Drain(time.Now().Add(time.Hour)) {
		t.Fatal("Drain with nothing parked returned false")
	}
	spot, err := lot.Park(server, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lot.Drain(time.Now().Add(10 * time.Millisecond)) {
		t.Fatal("Drain returned true with a poll held")
	}
	done := make(chan bool)
	go func() { done <- lot.Drain(time.Now().Add(time.Hour)) }()
	spot.Answer([]byte("bye"), false)
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("Drain returned false after the answer")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return within 10s of the last answer")
	}
	io.ReadAll(client)
}

// syncBuffer is a bytes.Buffer safe for a logger on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
