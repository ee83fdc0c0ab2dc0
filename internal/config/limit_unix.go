//go:build unix

package config

import "syscall"

// defaultMaxConnections returns the open-files hard limit less 1000 (for
// the listeners, Redis, logs), at least 100; 100000 when there is no
// limit to speak of.
func defaultMaxConnections() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Max > 1<<30 {
		return 100000
	}
	return max(int(rl.Max)-1000, 100)
}
