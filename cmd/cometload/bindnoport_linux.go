package main

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2): with a source
// address given, the port is chosen at connect time, per destination, so
// tens of thousands of connections (and TIME_WAIT leftovers) fit.
const ipBindAddressNoPort = 24

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a connection being dialled.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
