// Package demo holds the demo pages: a live chat on two channels, read in
// one subscription, with the modern client (index.html, every tab sharing
// one poll) and with the legacy 1 KB client (legacy.html). cmd/simple_comet serves it
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

// Legacy is the same chat with the legacy client, served at LegacyPath.
//
//go:embed legacy.html
var Legacy []byte

// LegacyPath is where Legacy is served.
const LegacyPath = "/demo/legacy.html"
