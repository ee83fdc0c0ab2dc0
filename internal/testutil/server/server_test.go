package server

import (
	"net/http"
	"os"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

func TestStartAndStop(t *testing.T) {
	s := Start(t)
	api.Get(t, s.URL, "/health").WantStatus(t, http.StatusOK)
	if err := s.Stop(); err != nil {
		t.Fatalf("got exit %v, want status 0\n%s", err, s.Log())
	}
}

func TestMain(m *testing.M) { os.Exit(Main(m)) }
