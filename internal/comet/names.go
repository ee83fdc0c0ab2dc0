package comet

import (
	"strings"
	"unicode/utf8"
)

// MaxNameBytes is the longest channel name or client id, in bytes.
const MaxNameBytes = 255

// ReservedPrefix starts the names of channels that only the server may
// register, publish to or delete (such as StatusChannel).
const ReservedPrefix = "$"

// StatusChannel is the reserved channel the server publishes its live status
// to, read by the status page.
const StatusChannel = "$status"

// ValidName reports whether s is a valid channel name or client id: 1–255
// bytes of valid UTF-8, no '|', no control characters (C0, DEL, C1).
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '|' {
			return false
		}
	}
	return true
}

// Reserved reports whether a channel name belongs to the server.
func Reserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }
