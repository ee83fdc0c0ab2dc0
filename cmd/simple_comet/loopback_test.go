package main

import (
	"net"
	"testing"
)

// addrListener is a net.Listener that only reports an address: enough for
// loopbackOnly, without listening beyond loopback in a test.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

func TestLoopbackOnly(t *testing.T) {
	tcp := func(ip string) net.Listener {
		return addrListener{addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 8080}}
	}
	unix := addrListener{addr: &net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}}
	for _, c := range []struct {
		name string
		ls   []net.Listener
		want bool
	}{
		{"127.0.0.1", []net.Listener{tcp("127.0.0.1")}, true},
		{"::1", []net.Listener{tcp("::1")}, true},
		{"unix socket only", []net.Listener{unix}, true},
		{"all IPv4 interfaces", []net.Listener{tcp("0.0.0.0")}, false},
		{"all interfaces", []net.Listener{tcp("::")}, false},
		{"a LAN address", []net.Listener{tcp("10.1.2.3")}, false},
		{"loopback and a LAN address", []net.Listener{tcp("127.0.0.1"), tcp("192.168.1.1")}, false},
		{"unix and all interfaces", []net.Listener{unix, tcp("0.0.0.0")}, false},
	} {
		if got := loopbackOnly(c.ls); got != c.want {
			t.Errorf("loopbackOnly(%s): got %v, want %v", c.name, got, c.want)
		}
	}
}
