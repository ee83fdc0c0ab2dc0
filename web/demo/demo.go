// Package demo holds the demo page: a live chat on two channels, read with
// the JavaScript client in one subscription. cmd/simple_comet serves it
// under /demo/ only with --enable-demo. The page is static; it registers
// its channels and publishes through the server's own API.
package demo

import _ "embed"

// Page is the demo page (HTML with its script and style inline).
//
//go:embed index.html
var Page []byte

// Paths the page is served at.
var Paths = []string{"/demo/", "/demo/index.html"}
