//go:build !linux

package parking

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
)

// errUnsupported is what New returns where the lean transport is not
// built (anything but Linux): the caller serves on net/http alone. It
// is errors.ErrUnsupported.
var errUnsupported = fmt.Errorf("parking: the lean transport needs Linux (epoll), not %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Lot is, here, never made: New always fails. Its methods exist so that
// the code that would use one builds; on a nil *Lot they do nothing.
type Lot struct{}

// Spot is one connection known to a Lot; there is none here.
type Spot struct{}

// New returns an error that is errors.ErrUnsupported.
func New(Options) (*Lot, error) { return nil, errUnsupported }

// Listen returns inner: no connection is ever parked here.
func (l *Lot) Listen(inner net.Listener) net.Listener { return inner }

// ListenNative returns inner, as Listen does.
func (l *Lot) ListenNative(inner net.Listener) net.Listener { return inner }

// Park returns ErrNotParkable.
func (l *Lot) Park(net.Conn, []byte, Task) (*Spot, error) { return nil, ErrNotParkable }

// Adopt returns ErrNotParkable.
func (l *Lot) Adopt(net.Conn) error { return ErrNotParkable }

// SetServer does nothing.
func (l *Lot) SetServer(Server) {}

// IOUring reports false, and why.
func (l *Lot) IOUring() (bool, error) { return false, errUnsupported }

// Parked returns 0.
func (l *Lot) Parked() int { return 0 }

// Drain returns true: nothing is parked.
func (l *Lot) Drain(time.Time) bool { return true }

// Close does nothing.
func (l *Lot) Close() {}

// Answer returns false: nothing was written.
func (s *Spot) Answer([]byte, bool) bool { return false }

// Submit runs f on a goroutine of its own.
func (s *Spot) Submit(f Task) { go f.Run() }

// Parkable reports false: no connection comes from a Lot's listener.
func Parkable(net.Conn) bool { return false }

// Offload runs f on a goroutine of its own.
func (s *Spot) Offload(f Task) { go f.Run() }

// Inline is false: there is no Lot here.
func (l *Lot) Inline() bool { return false }

// MayBlock is true: nothing is served on an event loop here.
func MayBlock(net.Conn) bool { return true }
