//go:build !unix

package config

// defaultMaxConnections returns 10000 where there is no open-files limit
// to derive it from (Windows).
func defaultMaxConnections() int { return 10000 }
