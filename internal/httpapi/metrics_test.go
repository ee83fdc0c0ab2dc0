package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /metrics without the secret is answered the same on the API address and
// on --metrics-addr: HTTP 200 with return_code -4 (quoted under
// --quote-json), and with it the metrics.
func TestMetricsNeedTheSecretOnBothAddresses(t *testing.T) {
	for _, flags := range []uint8{2, 3} {
		h := fuzzHandler(t, flags)
		for name, served := range map[string]http.Handler{"API address": h, "--metrics-addr": h.ServeMetrics(h.opts.Metrics)} {
			w := httptest.NewRecorder()
			served.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, `"return_code":-4`) || (flags&1 != 0) != strings.HasPrefix(body, "/*-secure-") {
				t.Errorf("%s (flags %d) without the secret: got %d %q, want 200 with -4", name, flags, w.Code, body)
			}
			w = httptest.NewRecorder()
			served.ServeHTTP(w, httptest.NewRequest("GET", "/metrics?secret="+fuzzSecret, nil))
			if w.Code != 200 || w.Body.String() != "metrics\n" {
				t.Errorf("%s (flags %d) with the secret: got %d %q, want the metrics", name, flags, w.Code, w.Body.String())
			}
		}
	}
}
