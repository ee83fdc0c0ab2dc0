package httpapi

import (
	"regexp"
	"strings"
	"testing"
)

// pathSeeds are API and non-API paths, percent-decoded as the router sees
// them: the shapes PROTOCOL.md names and the odd ones around them.
var pathSeeds = []string{
	"/channels.json", "/channels.jsonp", "/channels.xml", "/channels", "/channels.",
	"/channels.x.json", "/channels/a.json", "/channels/a.jsonp", "/channels/a|b|c.json",
	"/channels/a//b.json", "/channels/.json", "/channels/a.b.json", "/channels/a",
	"/channels/a.", "/channels/a.JSON", "/channels/||.json", "/channels/$status.json",
	"/channels/\xff\xfe.json", "/channels/a\x00b.json", "/channels/é.json",
	"/clients.json", "/clients/c1.json", "/clients/c1.jsonp", "/clients/.json",
	"/status.json", "/stats.jsonp", "/status.x.json", "/status", "/health", "/metrics",
	"/", "", "*", "/channels/../status.json", "/CHANNELS.json", "/channels/a.json/x",
}

func FuzzParseAPIPath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, ok := parseAPIPath(path)
		if !ok {
			for _, p := range []string{"/channels/", "/channels.", "/clients/", "/clients.", "/status.", "/stats."} {
				if strings.HasPrefix(path, p) {
					t.Fatalf("parseAPIPath(%q): got not an API path, want one (prefix %q)", path, p)
				}
			}
			return
		}
		if rt.format == formatUnknown {
			return
		}
		suffix := map[format]string{formatJSON: ".json", formatJSONP: ".jsonp"}[rt.format]
		if !strings.HasSuffix(path, suffix) {
			t.Fatalf("parseAPIPath(%q): got format %v, want the path to end in %q", path, rt.format, suffix)
		}
		// The name is exactly what lies between the resource prefix and the
		// last dot: nothing cleaned, nothing dropped.
		prefix := map[resource][]string{
			resChannel: {"/channels/"}, resChannels: {"/channels"}, resClient: {"/clients/"},
			resClients: {"/clients"}, resStatus: {"/status", "/stats"},
		}[rt.res]
		found := false
		for _, p := range prefix {
			if path == p+rt.name+suffix {
				found = true
			}
		}
		if !found {
			t.Fatalf("parseAPIPath(%q): got res %v name %q, which does not rebuild the path", path, rt.res, rt.name)
		}
		if (rt.res == resChannels || rt.res == resClients || rt.res == resStatus) && rt.name != "" {
			t.Fatalf("parseAPIPath(%q): got name %q on a collection, want unknown format", path, rt.name)
		}
		if rt.res == resChannel {
			parts := splitChannels(rt.name)
			if strings.Join(parts, "|") != rt.name {
				t.Fatalf("splitChannels(%q): got %q, which does not join back", rt.name, parts)
			}
			for _, p := range parts {
				if strings.Contains(p, "|") {
					t.Fatalf("splitChannels(%q): got part %q with a |", rt.name, p)
				}
			}
			if len(parts) != strings.Count(rt.name, "|")+1 {
				t.Fatalf("splitChannels(%q): got %d parts, want %d", rt.name, len(parts), strings.Count(rt.name, "|")+1)
			}
		}
	})
}

// callbackSeeds are JSON-P callback names, good and hostile.
var callbackSeeds = []string{
	"_JSONP_comet_cb", "_JSONP_", "_JSONP_a.b.c", "_JSONP_$", "_JSONP_0", "_JSONP_x1",
	"_jsonp_x", "JSONP_x", "alert", "_JSONP_a(1)", "_JSONP_a;alert(1)//", "_JSONP_a</script>",
	"_JSONP_a\u2028", "_JSONP_é", "_JSONP_a b", "_JSONP_a-b", "_JSONP_a\x00", "",
	"_JSONP_" + strings.Repeat("a", 57), "_JSONP_" + strings.Repeat("a", 58),
	"_JSONP_a*/", "_JSONP_a/*", "_JSONP_a\"", "_JSONP_a'", "_JSONP_a[0]",
}

var callbackRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$.]*$`)

func FuzzValidCallback(f *testing.F) {
	for _, s := range callbackSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cb string) {
		got := validCallback(cb)
		want := strings.HasPrefix(cb, "_JSONP_") && len(cb) <= 64 && callbackRE.MatchString(cb)
		if got != want {
			t.Fatalf("validCallback(%q): got %v, want %v", cb, got, want)
		}
		if got && strings.ContainsAny(cb, "()[];/*<>'\"\\ \t\r\n\u2028\u2029") {
			t.Fatalf("validCallback(%q): got true for a name that can leave the call", cb)
		}
	})
}
