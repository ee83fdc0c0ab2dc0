package enginetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func (s *suite) status(t *testing.T) {
	e, _ := s.start(t, Options{})
	st, err := e.Status(ctx(t), 10)
	if err != nil || st.ChannelsCount != 0 || st.ClientsCount != 0 || len(st.Channels) != 0 || len(st.Clients) != 0 {
		t.Fatalf("Status of an empty engine: got (%+v, %v), want nothing", st, err)
	}
	for i := range 5 {
		register(t, e, fmt.Sprint("ch", i), comet.ChannelOptions{UseSessions: i%2 == 0})
	}
	register(t, e, comet.StatusChannel, comet.ChannelOptions{})
	register(t, e, "$other", comet.ChannelOptions{})
	for i := range 3 {
		registerClient(t, e, fmt.Sprint("cl", i))
	}
	publish(t, e, "ch1", "a")
	publish(t, e, "ch2", "b")
	publish(t, e, comet.StatusChannel, "c")
	// A reserved channel works like any other for the server itself.
	res := read(t, e, q(0, comet.StatusChannel))
	wantStrings(t, "reserved channel content", contents(messagesOf(res, comet.StatusChannel)), []string{"c"})

	st, err = e.Status(ctx(t), 1000)
	if err != nil {
		t.Fatalf("Status: got %v, want nil", err)
	}
	if st.ChannelsCount != 5 || st.ClientsCount != 3 {
		t.Fatalf("Status counts: got %d channels %d clients, want 5 and 3 (reserved excluded)", st.ChannelsCount, st.ClientsCount)
	}
	slices.Sort(st.Channels)
	slices.Sort(st.Clients)
	wantStrings(t, "Status channels", st.Channels, []string{"ch0", "ch1", "ch2", "ch3", "ch4"})
	wantStrings(t, "Status clients", st.Clients, []string{"cl0", "cl1", "cl2"})
	if st.MessagesPublished < 3 {
		t.Fatalf("Status messages published: got %d, want at least 3", st.MessagesPublished)
	}
	// Lists are capped; counts stay exact.
	st, err = e.Status(ctx(t), 2)
	if err != nil || len(st.Channels) != 2 || len(st.Clients) != 2 || st.ChannelsCount != 5 || st.ClientsCount != 3 {
		t.Fatalf("Status with limit 2: got (%+v, %v), want 2 names each and counts 5 and 3", st, err)
	}
	for _, c := range st.Channels {
		if comet.Reserved(c) {
			t.Fatalf("Status channels: got reserved %q, want none", c)
		}
	}
	// Deleting updates the counts.
	if _, err := e.DeleteChannel(ctx(t), "ch0"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteClient(ctx(t), "cl0"); err != nil {
		t.Fatal(err)
	}
	st, err = e.Status(ctx(t), 1000)
	if err != nil || st.ChannelsCount != 4 || st.ClientsCount != 2 {
		t.Fatalf("Status after deletes: got (%+v, %v), want 4 channels and 2 clients", st, err)
	}
	if err := e.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: got %v, want nil", err)
	}
	if e.Name() == "" {
		t.Fatal("Name: got empty, want the engine's kind")
	}
}

func (s *suite) capacity(t *testing.T) {
	e, _ := s.start(t, Options{MaxChannels: 2, MaxClients: 2})
	register(t, e, "a", comet.ChannelOptions{})
	register(t, e, "b", comet.ChannelOptions{})
	if err := e.RegisterChannel(ctx(t), "c", comet.ChannelOptions{}); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("third channel with MaxChannels 2: got %v, want %v", err, comet.ErrCapacity)
	}
	// A duplicate is still a duplicate at capacity (-2 before -5).
	if err := e.RegisterChannel(ctx(t), "a", comet.ChannelOptions{}); !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("duplicate at capacity: got %v, want %v", err, comet.ErrChannelExists)
	}
	// Reserved channels do not count against the limit.
	register(t, e, comet.StatusChannel, comet.ChannelOptions{})
	if _, err := e.DeleteChannel(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
	register(t, e, "c", comet.ChannelOptions{})
	if err := e.RegisterChannel(ctx(t), "d", comet.ChannelOptions{}); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("channel over the limit after a delete: got %v, want %v", err, comet.ErrCapacity)
	}
	// Deleting a reserved channel frees no user slot.
	if _, err := e.DeleteChannel(ctx(t), comet.StatusChannel); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterChannel(ctx(t), "d", comet.ChannelOptions{}); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("channel over the limit after deleting a reserved one: got %v, want %v", err, comet.ErrCapacity)
	}

	registerClient(t, e, "x")
	registerClient(t, e, "y")
	if err := e.RegisterClient(ctx(t), "z"); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("third client with MaxClients 2: got %v, want %v", err, comet.ErrCapacity)
	}
	if err := e.RegisterClient(ctx(t), "x"); !errors.Is(err, comet.ErrClientExists) {
		t.Fatalf("duplicate client at capacity: got %v, want %v", err, comet.ErrClientExists)
	}
	if _, err := e.DeleteClient(ctx(t), "x"); err != nil {
		t.Fatal(err)
	}
	registerClient(t, e, "z")
}
