// Package client embeds the JavaScript clients so that the server can serve
// them: the legacy ES3 client at /simple-comet.js and /simple-comet.min.js
// (the readable source is simple-comet.js; simple-comet.min.js is built from
// it, see Makefile), and the modern client at /simple-comet.mjs and
// /simple-comet.umd.js (built from src/ by build-modern.mjs).
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

// Module is the modern client as an ES module (simple-comet.mjs), built from
// src/simple-comet.mjs by build-modern.mjs.
//
//go:embed simple-comet.mjs
var Module []byte

// UMD is the same client for a plain <script> tag, defining the global
// SimpleComet (simple-comet.umd.js).
//
//go:embed simple-comet.umd.js
var UMD []byte
