// Package client embeds the JavaScript client so that the server can serve
// it at /simple-comet.js and /simple-comet.min.js. The readable source is
// simple-comet.js; simple-comet.min.js is built from it (see Makefile).
package client

import _ "embed"

// Source is the readable client.
//
//go:embed simple-comet.js
var Source []byte

// Minified is the client as served to pages.
//
//go:embed simple-comet.min.js
var Minified []byte
