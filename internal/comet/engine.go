package comet

import "context"

// ChannelOptions are set when a channel is registered.
type ChannelOptions struct {
	// UseSessions makes the channel seen only by reads that carry a
	// registered client id.
	UseSessions bool
	// MaxMessages is how many of its newest messages the channel keeps.
	MaxMessages int
}

// ReadQuery is one read of one or more channels.
type ReadQuery struct {
	// Channels are valid names, without duplicates, in the order asked.
	Channels []string
	// ClientID is the reader's client id; HasClient says whether one was given.
	ClientID  string
	HasClient bool
	// Since is the id after which messages are returned (only greater
	// ids). A value above the newest id is taken as the newest id.
	Since int64
}

// ChannelMessages are the messages of one channel in a read, oldest first.
type ChannelMessages struct {
	Channel  string
	Messages []Message
}

// ReadResult is one atomic view of the channels a read may see.
type ReadResult struct {
	// Since is the value used (after clamping to the newest id).
	Since int64
	// LastID is the newest id issued when the view was taken.
	LastID int64
	// Channels holds every readable channel, in the order asked, each with
	// its messages newer than Since (possibly none).
	Channels []ChannelMessages
	// Truncated names the channels in which messages newer than Since were
	// already dropped by retention (only computed when Since > 0).
	Truncated []string
}

// HasMessages reports whether any channel in the result has a message.
func (r *ReadResult) HasMessages() bool {
	for i := range r.Channels {
		if len(r.Channels[i].Messages) > 0 {
			return true
		}
	}
	return false
}

// EngineStatus is what an engine knows about the whole (cluster-wide) state.
type EngineStatus struct {
	Channels          []string // at most the limit asked for; reserved names excluded
	Clients           []string // at most the limit asked for
	ChannelsCount     int      // exact, reserved names excluded
	ClientsCount      int
	MessagesPublished int64 // ever stored, reserved channels excluded
}

// Notifier is told by an engine when held polls must wake. The Hub
// implements it; an engine is given one at construction.
type Notifier interface {
	// Notify wakes the polls held on channel.
	Notify(channel string, reason WakeReason)
	// NotifyAll wakes every held poll (engine lost, engine back).
	NotifyAll(reason WakeReason)
}

// Engine stores channels, messages and clients. Every method is safe for
// concurrent use and takes a context that bounds any I/O.
//
// The contract, which internal/enginetest checks for every engine:
//
//   - Publish is one atomic step: it assigns the id (NextID over the engine's
//     one id sequence, strictly increasing across all channels and all nodes
//     sharing the engine), appends the message and trims the channel to its
//     MaxMessages. Only after that step is visible to Read does the engine
//     call Notify(channel, WakeMessage), so a poll that registered its watch
//     in the Hub before reading can never miss a message.
//   - Publish returns only once the message is stored; an error means the
//     outcome is unknown (ErrUnavailable) or nothing was stored (the kinds).
//   - Read returns, in one atomic view, the messages with id > Since of every
//     readable channel, oldest first, and the newest id issued. It skips
//     unknown channels and, without a client id, session channels; with none
//     left it returns ErrNoValidChannels. A given but unregistered or expired
//     client id is ErrUnknownClient. A read touches the channels it returns
//     and its client (their inactivity clocks restart).
//   - Ids survive restarts: a new engine's newest id is at least TimeID(now)
//     (memory) or the stored counter (Redis), never lower than any id issued.
//   - Channels unread for the inactive-channel timeout and clients unread for
//     the session timeout expire; a removed or expired channel calls
//     Notify(channel, WakeDeleted).
//   - Errors that are not one of this package's kinds mean the engine could
//     not be reached; the engine wraps them in ErrUnavailable.
type Engine interface {
	RegisterChannel(ctx context.Context, name string, opts ChannelOptions) error
	// DeleteChannel removes a channel and its messages; false if none existed.
	DeleteChannel(ctx context.Context, name string) (bool, error)
	Publish(ctx context.Context, channel, content string) (Message, error)
	RegisterClient(ctx context.Context, id string) error
	// DeleteClient unregisters a client; false if none was registered.
	DeleteClient(ctx context.Context, id string) (bool, error)
	Read(ctx context.Context, q ReadQuery) (ReadResult, error)
	// Touch restarts the inactivity clocks of existing channels and of a
	// registered client: a held poll keeps them alive through it.
	Touch(ctx context.Context, channels []string, clients []string) error
	// Status describes the stored state; lists are capped at limit entries.
	Status(ctx context.Context, limit int) (EngineStatus, error)
	// Ping reports whether the engine can be reached.
	Ping(ctx context.Context) error
	// Name is a short name of the engine kind ("memory", "redis").
	Name() string
	// Close releases the engine; it is safe to call twice.
	Close() error
}

// NonBlocking is an engine none of whose calls waits (the embedded engine,
// all in memory): a transport may call it from an event loop.
type NonBlocking interface {
	Engine
	NonBlocking()
}

// LocalReader is an engine that answers some reads from memory without
// waiting (the Redis engine's local copy), so that an event loop can serve
// them; the others it leaves to Read, where waiting is allowed.
type LocalReader interface {
	Engine
	// ReadLocal answers q exactly as Read would, if it can without waiting;
	// hit is false when it cannot (and nothing was done).
	ReadLocal(q ReadQuery) (res ReadResult, hit bool, err error)
}
