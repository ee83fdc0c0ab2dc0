package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestScanReadReply: the tool's quick decoder reads what encoding/json
// reads, and leaves what it cannot read to it.
func TestScanReadReply(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"since":12,"last_id":13,"messages":{"fan":[{"content":"12 17644 xx","id":13,"ts":1764}]},"return_code":1,"error_message":""}`, true},
		{`{"since":1,"last_id":5,"messages":{"a":[{"content":"1 2","id":4,"ts":1},{"content":"3 4","id":5,"ts":1}],"b":[]},"return_code":1,"error_message":""}`, true},
		{`{"since":0,"last_id":0,"messages":{},"return_code":1,"error_message":""}`, true},
		{`{"since":1,"last_id":2,"messages":{"a":[{"content":"say \"hi\"","id":2,"ts":1}]},"return_code":1,"error_message":""}`, false},
		{`{"return_code":-5,"error_message":"Service unavailable"}`, false},
	} {
		last, got, ok := scanReadReply([]byte(c.body))
		if ok != c.ok {
			t.Fatalf("%s: ok %v, want %v", c.body, ok, c.ok)
		}
		if !ok {
			continue
		}
		var rr readReply
		if err := json.Unmarshal([]byte(c.body), &rr); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, ch := range []string{"fan", "a", "b"} { // the channels in body order
			for _, m := range rr.Messages[ch] {
				want = append(want, m.Content)
			}
		}
		if last != rr.LastID || !slices.Equal(got, want) {
			t.Fatalf("%s: got %d %q, want %d %q", c.body, last, got, rr.LastID, want)
		}
	}
}
