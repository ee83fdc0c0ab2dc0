// Package status embeds the live status page: status.html and status.js,
// served by the server at /status.html and /status.js with
// --enable-status. The page long-polls the reserved channel $status (see
// internal/livestatus) through the project's own modern JS client, served
// at /simple-comet.umd.js; it loads nothing from anywhere else.
package status

import _ "embed"

// HTML is the page. When the server has a secret, the page is served only
// to a request carrying it, and passes it on (from its ?secret= parameter)
// to its reads of $status.
//
//go:embed status.html
var HTML []byte

// JS is the page's script: it receives the snapshots and draws the counts
// and the rate charts (canvas, drawn by hand).
//
//go:embed status.js
var JS []byte
