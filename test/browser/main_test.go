package browser

import (
	"os"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// TestMain closes the Firefox the Firefox tests share before the leak check.
func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m, closeFirefox)) }
