package httpapi

import (
	"strings"
)

// resource is what a path names.
type resource uint8

const (
	resNone     resource = iota
	resChannels          // /channels.F
	resChannel           // /channels/NAME.F
	resClients           // /clients.F
	resClient            // /clients/NAME.F
	resStatus            // /status.F, /stats.F
	resHealth            // /health
	resMetrics           // /metrics
	resAsset             // an embedded file (client, demo, status page)
)

var resourceNames = [...]string{"unknown", "channels", "channel", "clients", "client", "status", "health", "metrics", "asset"}

func (r resource) String() string { return resourceNames[r] }

// format is the reply format chosen by the path's suffix.
type format uint8

const (
	formatUnknown format = iota
	formatJSON
	formatJSONP
)

// route is a parsed API path.
type route struct {
	res    resource
	name   string // channel list or client id, percent-decoded
	format format
}

// allow lists the methods each API resource takes.
func (r resource) allow() string {
	switch r {
	case resChannel:
		return "GET, POST, DELETE"
	case resChannels, resClients:
		return "POST"
	case resClient:
		return "DELETE"
	case resStatus:
		return "GET"
	}
	return "GET, HEAD"
}

func (r resource) allows(method string) bool {
	switch r {
	case resChannel:
		return method == "GET" || method == "POST" || method == "DELETE"
	case resChannels, resClients:
		return method == "POST"
	case resClient:
		return method == "DELETE"
	case resStatus:
		return method == "GET"
	}
	return method == "GET" || method == "HEAD"
}

// parseAPIPath splits an (already percent-decoded) API path into resource,
// name and format. ok is false when the path is not an API path at all.
// The path is taken as sent: no cleaning, so "/channels/a//b.json" names
// the channel "a//b".
func parseAPIPath(path string) (rt route, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(path, "/channels/"):
		rt.res, rest = resChannel, path[len("/channels/"):]
	case strings.HasPrefix(path, "/channels."):
		rt.res, rest = resChannels, path[len("/channels"):]
	case strings.HasPrefix(path, "/clients/"):
		rt.res, rest = resClient, path[len("/clients/"):]
	case strings.HasPrefix(path, "/clients."):
		rt.res, rest = resClients, path[len("/clients"):]
	case strings.HasPrefix(path, "/status."):
		rt.res, rest = resStatus, path[len("/status"):]
	case strings.HasPrefix(path, "/stats."):
		rt.res, rest = resStatus, path[len("/stats"):]
	default:
		return rt, false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return rt, true // no suffix: unknown format
	}
	rt.name = rest[:dot]
	switch rest[dot+1:] {
	case "json":
		rt.format = formatJSON
	case "jsonp":
		rt.format = formatJSONP
	}
	if (rt.res == resChannels || rt.res == resClients || rt.res == resStatus) && rt.name != "" {
		// "/channels.x.json": not a resource we know.
		rt.format = formatUnknown
	}
	return rt, true
}

// splitChannels splits a read's channel list on '|'.
func splitChannels(list string) []string { return strings.Split(list, "|") }

// validCallback applies PROTOCOL.md's JSON-P rule: starts with _JSONP_,
// matches ^[A-Za-z_$][A-Za-z0-9_$.]*$ and is at most 64 bytes.
func validCallback(cb string) bool {
	if len(cb) > 64 || !strings.HasPrefix(cb, "_JSONP_") {
		return false
	}
	for i := 0; i < len(cb); i++ {
		c := cb[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_', c == '$':
		case (c >= '0' && c <= '9') || c == '.':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
