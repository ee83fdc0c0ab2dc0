package comet

import (
	"slices"
	"testing"
)

func TestReadableReusesTheAskedList(t *testing.T) {
	asked := []string{"a", "b"}
	all := ReadResult{Channels: []ChannelMessages{{Channel: "a"}, {Channel: "b"}}}
	got := readable(asked, all)
	if !slices.Equal(got, asked) || &got[0] != &asked[0] {
		t.Errorf("got %v (a copy: %v), want the asked list itself", got, &got[0] != &asked[0])
	}
	some := ReadResult{Channels: []ChannelMessages{{Channel: "b"}}}
	if got := readable(asked, some); !slices.Equal(got, []string{"b"}) {
		t.Errorf("got %v, want [b]", got)
	}
	other := ReadResult{Channels: []ChannelMessages{{Channel: "b"}, {Channel: "c"}}}
	if got := readable(asked, other); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("got %v, want [b c]", got)
	}
}
