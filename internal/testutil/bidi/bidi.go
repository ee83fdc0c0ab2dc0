// Package bidi drives a real headless Firefox (Debian's firefox-esr) for
// tests over WebDriver BiDi, which Firefox serves itself: no geckodriver, no
// node_modules, no browser download. The browser runs with a fresh profile
// in t.TempDir(), is closed and waited for when the test ends, and its
// output is logged when the test fails.
//
// Usage:
//
//	b := bidi.Start(t)                 // skips (or fails with CI=true) without firefox-esr
//	b, err := bidi.Launch(dir)         // or one browser for several tests: b.Close() at the end
//	tab := b.Tab(t)                    // a new tab; b.First is the one Firefox opened
//	tab.Navigate(t, url)
//	var n int
//	tab.Eval(t, "1 + 1", &n)           // the value goes through JSON.stringify
//	tab.Close(t)
//
// The driver has no tests of its own: test/browser runs it (every Firefox
// test of the project is there, in one package).
//
// A Browser serialises nothing itself: commands of several goroutines may
// be in flight at once, each matched to its answer by id.
package bidi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Path is the Firefox binary the tests use: Debian's package "firefox-esr".
const Path = "/usr/bin/firefox-esr"

// Require skips the test loudly when Firefox is missing, and fails it when
// CI is "true": CI must run the browser tests.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Path); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing (apt-get install firefox-esr, or make deps)", Path)
	}
	t.Skipf("SKIPPED (would fail with CI=true): %s is missing (apt-get install firefox-esr, or make deps)", Path)
}

// prefs keep a test profile quiet and its background tabs running.
const prefs = `user_pref("app.update.disabledForTesting", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("dom.timeout.enable_budget_timer_throttling", false);
user_pref("dom.min_background_timeout_value", 4);
user_pref("browser.tabs.remote.unloadOnLowMemory", false);
`

// Browser is one running Firefox with one BiDi session.
type Browser struct {
	First *Tab // the tab Firefox opened at start

	ws        *wsConn
	out       *logBuffer
	cmd       *exec.Cmd
	exited    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	next    int
	waiting map[int]chan reply
	dead    error
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Msg    string          `json:"message"`
}

var listenRE = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// Start launches Firefox (Launch) for one test: it is closed when the test
// ends, and its output logged if the test failed.
func Start(t testing.TB) *Browser {
	t.Helper()
	Require(t)
	b, err := Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		if t.Failed() {
			t.Logf("firefox output:\n%s", b.Output())
		}
	})
	return b
}

// Launch starts Firefox with a fresh profile in dir (which must exist and
// outlive the browser) and opens a BiDi session that accepts the
// certificates a test makes itself. The caller must Close it.
func Launch(dir string) (*Browser, error) {
	if err := os.WriteFile(filepath.Join(dir, "user.js"), []byte(prefs), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(Path, "--headless", "--no-remote", "--profile", dir,
		"--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "HOME="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &Browser{out: &logBuffer{}, waiting: map[int]chan reply{}, cmd: cmd, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.out.Write(append(sc.Bytes(), '\n'))
			if m := listenRE.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case found <- string(m[1]):
				default:
				}
			}
		}
		cmd.Wait()
		close(b.exited)
	}()
	fail := func(format string, args ...any) (*Browser, error) {
		b.Close()
		return nil, fmt.Errorf(format, args...)
	}
	var addr string
	select {
	case addr = <-found:
	case <-b.exited:
		return fail("%s exited before serving BiDi:\n%s", Path, b.out.String())
	case <-time.After(60 * time.Second):
		return fail("%s did not serve BiDi within 60s:\n%s", Path, b.out.String())
	}
	if b.ws, err = dialWS(addr + "/session"); err != nil {
		return fail("connecting to Firefox's BiDi at %s: %v", addr, err)
	}
	go b.readLoop()
	if err := b.call("session.new", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": true}}}, nil); err != nil {
		return fail("session.new: %v", err)
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.call("browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil || len(tree.Contexts) == 0 {
		return fail("browsingContext.getTree: %v %v", err, tree)
	}
	b.First = &Tab{b: b, ID: tree.Contexts[0].Context}
	return b, nil
}

// Close ends the session and the browser, and waits for its process
// (killing it after 10 s). Safe to call twice.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		if b.ws != nil {
			b.call("browser.close", map[string]any{}, nil)
			b.ws.close()
		}
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			b.cmd.Process.Kill()
			<-b.exited
		}
	})
}

// Output is what Firefox wrote to stderr (the first 64 KiB).
func (b *Browser) Output() string { return b.out.String() }

func (b *Browser) readLoop() {
	for {
		msg, err := b.ws.read()
		if err != nil {
			b.mu.Lock()
			b.dead = fmt.Errorf("BiDi connection: %w", err)
			for id, ch := range b.waiting {
				ch <- reply{Error: "closed", Msg: b.dead.Error()}
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var m struct {
			ID *int `json:"id"`
			reply
		}
		if json.Unmarshal(msg, &m) != nil || m.ID == nil {
			continue // an event: none is subscribed to
		}
		b.mu.Lock()
		ch := b.waiting[*m.ID]
		delete(b.waiting, *m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
}

// call sends one command and waits (at most a minute) for its answer,
// decoding the result into out when out is not nil.
func (b *Browser) call(method string, params any, out any) error {
	b.mu.Lock()
	if b.dead != nil {
		b.mu.Unlock()
		return b.dead
	}
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := b.ws.write(0x1, msg); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Error != "" {
			return fmt.Errorf("%s: %s: %s", method, r.Error, r.Msg)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("%s: no answer within a minute", method)
	}
}

// Tab is one browsing context (a tab) of the browser.
type Tab struct {
	ID     string
	b      *Browser
	closed bool // guarded by b.mu
}

// Tab opens a new tab (in the background, as a user's new tab would not
// be: Firefox shows the tab it opened last).
func (b *Browser) Tab(t testing.TB) *Tab {
	t.Helper()
	var r struct {
		Context string `json:"context"`
	}
	if err := b.call("browsingContext.create", map[string]any{"type": "tab"}, &r); err != nil {
		t.Fatal(err)
	}
	return &Tab{b: b, ID: r.Context}
}

// Navigate loads url and waits until the page has loaded.
func (tab *Tab) Navigate(t testing.TB, url string) {
	t.Helper()
	if err := tab.b.call("browsingContext.navigate", map[string]any{"context": tab.ID, "url": url, "wait": "complete"}, nil); err != nil {
		t.Fatalf("navigating to %s: %v", url, err)
	}
}

// Back goes one step back in the tab's history and waits for the page.
func (tab *Tab) Back(t testing.TB) {
	t.Helper()
	if err := tab.b.call("browsingContext.traverseHistory", map[string]any{"context": tab.ID, "delta": -1}, nil); err != nil {
		t.Fatalf("going back: %v", err)
	}
}

// Activate brings the tab to the front (visible).
func (tab *Tab) Activate(t testing.TB) {
	t.Helper()
	if err := tab.b.call("browsingContext.activate", map[string]any{"context": tab.ID}, nil); err != nil {
		t.Fatalf("activating a tab: %v", err)
	}
}

// Eval evaluates expr in the page (awaiting it when it is a promise) and
// decodes its JSON into out (which may be nil).
func (tab *Tab) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	if err := tab.TryEval(expr, out); err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
}

// TryEval is Eval returning its error.
func (tab *Tab) TryEval(expr string, out any) error {
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
		Exception struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	src := "(async () => JSON.stringify(await (" + expr + ")))()"
	err := tab.b.call("script.evaluate", map[string]any{
		"expression": src, "target": map[string]any{"context": tab.ID},
		"awaitPromise": true, "resultOwnership": "none",
	}, &r)
	if err != nil {
		return err
	}
	if r.Type == "exception" {
		return fmt.Errorf("exception: %s", r.Exception.Text)
	}
	if out == nil || r.Result.Type == "undefined" {
		return nil
	}
	return json.Unmarshal([]byte(r.Result.Value), out)
}

// Close closes the tab without running its beforeunload handlers.
func (tab *Tab) Close(t testing.TB) {
	t.Helper()
	if err := tab.TryClose(); err != nil {
		t.Fatalf("closing a tab: %v", err)
	}
}

// TryClose closes the tab unless it is closed already, and returns the
// error of closing it.
func (tab *Tab) TryClose() error {
	tab.b.mu.Lock()
	done := tab.closed
	tab.closed = true
	tab.b.mu.Unlock()
	if done {
		return nil
	}
	return tab.b.call("browsingContext.close", map[string]any{"context": tab.ID}, nil)
}

// logBuffer collects the browser's output, capped at 64 KiB.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 64<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
