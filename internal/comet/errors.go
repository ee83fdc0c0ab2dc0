package comet

import "errors"

// The error kinds every layer shares. Engines return them (possibly wrapped);
// the HTTP layer maps them to return codes with errors.Is. Any other error
// from an engine means the engine could not be reached or failed, and is
// answered as temporarily unavailable.
var (
	// ErrChannelExists is returned when registering a channel that is
	// already registered.
	ErrChannelExists = errors.New("channel already exists")
	// ErrClientExists is returned when registering a client id that is
	// already registered.
	ErrClientExists = errors.New("client already exists")
	// ErrNoChannel is returned when publishing to a channel that does not
	// exist.
	ErrNoChannel = errors.New("nonexistent channel")
	// ErrNoValidChannels is returned for a read in which no channel is
	// readable.
	ErrNoValidChannels = errors.New("no valid channels")
	// ErrUnknownClient is returned for a read with a client id that is not
	// registered or has expired.
	ErrUnknownClient = errors.New("unknown client")
	// ErrCapacity means a capacity limit (channels, clients, held polls)
	// is reached.
	ErrCapacity = errors.New("capacity limit reached")
	// ErrUnavailable means the engine cannot be reached.
	ErrUnavailable = errors.New("engine unavailable")
	// ErrClosed means the engine or hub has been shut down.
	ErrClosed = errors.New("shut down")
	// ErrWouldBlock: BeginLocal or a local read could not answer without
	// waiting; nothing was done, and the caller asks again where it may
	// wait. Never an answer to a client.
	ErrWouldBlock = errors.New("would wait")
)
