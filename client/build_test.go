package client

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxMinified is the promise of the README: the client weighs 1 KB.
const maxMinified = 1024

func TestMinifiedSize(t *testing.T) {
	if got := len(Minified); got > maxMinified {
		t.Fatalf("simple-comet.min.js: got %d bytes, want <= %d", got, maxMinified)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(Minified)
	w.Close()
	t.Logf("simple-comet.min.js: %d bytes, %d gzipped", len(Minified), gz.Len())
}

func TestMinifiedDefinesTheAPI(t *testing.T) {
	for _, want := range []string{"var SimpleComet=", "subscribe", "start", "cancel", "_JSONP_"} {
		if !bytes.Contains(Minified, []byte(want)) {
			t.Errorf("simple-comet.min.js: got no %q, want it", want)
		}
	}
}

// TestMinifiedIsFreshAndES3 rebuilds the client with the pinned terser and
// checks it with acorn set to ECMAScript 3 (client/build.js --check): it
// fails when simple-comet.min.js was not rebuilt after an edit of
// simple-comet.js, or when either file is not ES3.
func TestMinifiedIsFreshAndES3(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	for _, mod := range []string{"terser", "acorn"} {
		if _, err := os.Stat(filepath.Join("node_modules", mod, "package.json")); err != nil {
			missing(t, "client/node_modules/"+mod+" is missing (run `npm ci` in client/ or `make deps`)")
		}
	}
	cmd := exec.Command(node, "build.js", "--check")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node build.js --check: got %v, want success\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// missing skips loudly, or fails when CI=true: CI must run every check.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skipf("SKIPPED (would fail with CI=true): %s", why)
}

// TestDocumentedSize keeps docs/CLIENT.md honest about the size.
func TestDocumentedSize(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "CLIENT.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("**%d bytes**", len(Minified))
	if !bytes.Contains(doc, []byte(want)) {
		t.Fatalf("docs/CLIENT.md: got no %q, want the size of simple-comet.min.js (and its gzip -9 size) updated", want)
	}
}
