package browser

import (
	"fmt"
	"os"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testserver"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := testserver.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
