// Package demo holds the demo page: a live chat on two channels, read in
// one subscription. cmd/simple_comet serves it under /demo/ only with
// --enable-demo; at /demo/ it runs on the modern client (every tab sharing
// one poll), at /demo/legacy.html on the 1 KB legacy client (the page picks
// by its path). The page is static; it registers its channels and publishes
// through the server's own API.
package demo

import _ "embed"

// Page is the demo page (HTML with its script and style inline).
//
//go:embed index.html
var Page []byte

// Paths the page is served at (the last one on the legacy client).
var Paths = []string{"/demo/", "/demo/index.html", "/demo/legacy.html"}
