// Package browser starts a real headless Chromium (/usr/bin/chromium)
// for tests through chromedp, with a fresh profile in t.TempDir() and a
// fixed, quiet set of flags. The browser is closed, and its process waited
// for, when the test ends.
//
// Usage:
//
//	tab := browser.Start(t)          // skips (or fails with CI=true) without chromium
//	err := chromedp.Do(tab, chromedp.Navigate(url))    // chromedp v0.23 API: Do for steps, Run for a value
//	other := browser.Tab(t, tab)     // a second tab of the same browser
//
// A context returned here must only be used from the test that got it.
package browser

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path is the Chromium binary the tests use: Debian's package "chromium".
const Path = "/usr/bin/chromium"

// Require skips the test loudly when Chromium is missing, and fails it when
// the environment variable CI is "true": CI must run the browser tests.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Path); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing (apt-get install chromium, or make deps)", Path)
	}
	t.Skipf("SKIPPED (would fail with CI=true): %s is missing (apt-get install chromium, or make deps)", Path)
}

// Start launches Chromium and returns the context of its first tab. The
// browser's own output is logged if the test fails.
func Start(t testing.TB) context.Context {
	t.Helper()
	Require(t)
	out := &logBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		// A hidden tab must keep its timers running at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(out),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Cleanups run last-in first-out: close the browser, wait for its
	// process, then (registered earlier) remove the profile directory.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output (D-Bus noise left out):\n%s", out.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v\n%s", Path, err, out.String())
	}
	return ctx
}

// Tab opens another tab in the browser of ctx (a context from Start). It is
// closed when the test ends.
func Tab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// logBuffer collects the browser's output; chromedp writes to it from its
// own goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		// A container has no D-Bus; Chromium says so many times a second.
		if len(line) == 0 || bytes.Contains(line, []byte("dbus/")) || len(l.b) > 64<<10 {
			continue
		}
		l.b = append(l.b, line...)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
