package browser

import (
	"os"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.MainNoLeaks(m)) }
