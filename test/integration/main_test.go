// Package integration tests the real simple_comet binary over loopback
// against PROTOCOL.md: every resource, return code, status, header and
// switch, on every engine listed in engines_test.go.
package integration

import (
	"os"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.Main(m)) }
