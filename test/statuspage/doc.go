// Package statuspage loads the live status page (/status.html) in headless
// Chromium against the real server and checks that it shows the counts
// changing as traffic arrives. A heavy package: make runs it on its own.
package statuspage
