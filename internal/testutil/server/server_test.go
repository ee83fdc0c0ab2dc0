package server

import (
	"net/http"
	"os"
	"testing"
)

func TestStartAndStop(t *testing.T) {
	s := Start(t)
	resp, err := http.Get(s.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("got exit %v, want status 0\n%s", err, s.Log())
	}
}

func TestMain(m *testing.M) { os.Exit(Main(m)) }
