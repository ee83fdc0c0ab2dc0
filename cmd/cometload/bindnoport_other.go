//go:build !linux

package main

import "syscall"

// bindNoPort does nothing where there is no IP_BIND_ADDRESS_NO_PORT: the
// port is then chosen when the source address is bound.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
