package client

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// maxModernGzip is the budget of each modern build, gzipped: 3 KB.
const maxModernGzip = 3072

// gzipSize is len(b) compressed with gzip -9 (Go's compress/gzip).
func gzipSize(b []byte) int {
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return gz.Len()
}

func modernFiles() map[string][]byte {
	return map[string][]byte{"simple-comet.mjs": Module, "simple-comet.umd.js": UMD}
}

func TestModernSize(t *testing.T) {
	for name, b := range modernFiles() {
		if got := gzipSize(b); got > maxModernGzip {
			t.Errorf("%s: got %d bytes gzipped, want <= %d", name, got, maxModernGzip)
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), gzipSize(b))
	}
}

// TestModernIsFresh rebuilds the modern client with the pinned esbuild into
// a temporary directory and compares it with the committed (and embedded)
// files: it fails when src/ was edited without a rebuild.
func TestModernIsFresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "esbuild", "package.json")); err != nil {
		missing(t, "client/node_modules/esbuild is missing (run `npm ci` in client/ or `make deps`)")
	}
	dir := t.TempDir()
	out, err := exec.Command(node, "build-modern.mjs", "--out", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("node build-modern.mjs: got %v, want success\n%s", err, out)
	}
	for name, committed := range modernFiles() {
		built, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, committed) {
			t.Errorf("%s is stale: run `npm run build` in client/ (or make client)", name)
		}
	}
}

// TestModernDocumentedSize keeps docs/CLIENT.md honest about both sizes.
func TestModernDocumentedSize(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "CLIENT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range modernFiles() {
		want := fmt.Sprintf("`client/%s` | **%d bytes**, %d bytes gzipped", name, len(b), gzipSize(b))
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("docs/CLIENT.md: got no %q, want the size of %s updated", want, name)
		}
	}
}

// TestPackage checks the npm package: the server's version, an exports map
// with types first, no side effects, and exactly the client files packed.
func TestPackage(t *testing.T) {
	raw, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Name        string         `json:"name"`
		Version     string         `json:"version"`
		Private     bool           `json:"private"`
		Types       string         `json:"types"`
		SideEffects *bool          `json:"sideEffects"`
		Files       []string       `json:"files"`
		Exports     map[string]any `json:"exports"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join("..", "cmd", "simple_comet", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`var version = "([^"]+)"`).FindSubmatch(main)
	if m == nil || pkg.Version != string(m[1]) {
		t.Errorf("package.json version: got %q, want the server's %q", pkg.Version, m)
	}
	if pkg.Private || pkg.Name == "" || pkg.Types != "./simple-comet.d.ts" || pkg.SideEffects == nil || *pkg.SideEffects {
		t.Errorf("package.json: got name %q private %v types %q sideEffects %v, want a public package with types and sideEffects false", pkg.Name, pkg.Private, pkg.Types, pkg.SideEffects)
	}
	// The "." entry must name types first: a JSON object's order is lost
	// in a Go map, so look at the text.
	if !regexp.MustCompile(`"\."\s*:\s*\{\s*"types"`).Match(raw) {
		t.Error(`package.json: exports["."] must list "types" first`)
	}
	want := []string{"simple-comet.d.ts", "simple-comet.js", "simple-comet.min.js", "simple-comet.mjs", "simple-comet.umd.js"}
	got := slices.Sorted(slices.Values(pkg.Files))
	if !slices.Equal(got, want) {
		t.Errorf("package.json files: got %q, want %q", got, want)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing(t, "npm is not installed")
	}
	out, err := exec.Command(npm, "pack", "--dry-run", "--json", "--ignore-scripts").Output()
	if err != nil {
		t.Fatalf("npm pack --dry-run: %v", err)
	}
	var packed []struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		t.Fatalf("npm pack --dry-run --json: got %v (%s), want one package", err, out)
	}
	var paths []string
	for _, f := range packed[0].Files {
		paths = append(paths, f.Path)
	}
	slices.Sort(paths)
	if want := append([]string{"package.json"}, want...); !slices.Equal(paths, want) {
		t.Errorf("npm pack --dry-run: got %q, want %q", paths, want)
	}
}

// TestTypes compiles testdata/types-check.ts and types-check-esm.mts with
// the pinned TypeScript (strict, no output) against simple-comet.d.ts, as a
// user's project would import the package.
func TestTypes(t *testing.T) {
	tsc := filepath.Join("node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		missing(t, "client/node_modules/.bin/tsc is missing (run `npm ci` in client/ or `make deps`)")
	}
	out, err := exec.Command(tsc, "-p", filepath.Join("testdata", "tsconfig.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("tsc -p testdata/tsconfig.json: got %v, want success\n%s", err, out)
	}
}
