//go:build linux

package parking

import "errors"

// CloseWrite half-closes a connection given back to net/http (which does
// so before closing one it answered with Connection: close), when the
// connection under it can.
func (c *conn) CloseWrite() error {
	if c.isDetached() {
		return errDetached
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
