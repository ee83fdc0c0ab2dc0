// Package browser holds the browser acceptance tests: a real headless
// Chromium (internal/testutil/browser) runs the minified JavaScript client, as
// the real simple_comet binary (internal/testutil/server) serves it, against that
// server on another origin, and the demo page. The package has no code of
// its own; it is heavy (one browser per test), so `make test` runs it with
// -p 1.
package browser
