//go:build cometpprof

// This file exists only in the debug build used by docs/PERFORMANCE.md
// (go build -tags cometpprof): it serves net/http/pprof on the address in
// SIMPLE_COMET_PPROF (loopback only). The production binary has none of it.

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("SIMPLE_COMET_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		os.Stderr.WriteString("simple_comet: SIMPLE_COMET_PPROF must be a loopback host:port\n")
		os.Exit(2)
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
