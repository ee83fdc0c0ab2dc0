package integration

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"strconv"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// multipartBody encodes fields as a multipart/form-data body and returns
// its content type and bytes.
func multipartBody(t testing.TB, fields [][2]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// jsonUnmarshal decodes a JSON (or --quote-json) body into v.
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(api.Unquote(b), v) }
