package config

import (
	"bytes"
	"flag"
	"reflect"
	"strings"
	"testing"
)

// candidates are tried for each switch until one is accepted and changes
// the configuration; every switch must take one of them.
var candidates = []string{"true", "false", "7", "3", "20000", "json", "debug", "redis://127.0.0.1:1/0", "127.0.0.1:9999", "/tmp/x.sock", "x-node"}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestEverySwitchReadsItsEnvironmentVariable checks, switch by switch, that
// SIMPLE_COMET_<NAME> sets exactly what --name sets, and that the flag wins
// when both are given.
func TestEverySwitchReadsItsEnvironmentVariable(t *testing.T) {
	base, err := Parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	fs, _, _ := FlagSet(&c)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		t.Run(f.Name, func(t *testing.T) {
			for _, v := range candidates {
				byFlag, err := Parse([]string{"--" + f.Name + "=" + v}, nil)
				if err != nil || reflect.DeepEqual(byFlag, base) {
					continue
				}
				byEnv, err := Parse(nil, env(map[string]string{EnvName(f.Name): v}))
				if err != nil {
					t.Fatalf("%s=%s: got error %v, want it accepted as --%s=%s is", EnvName(f.Name), v, err, f.Name, v)
				}
				if !reflect.DeepEqual(byEnv, byFlag) {
					t.Fatalf("%s=%s: got %+v, want %+v (as --%s=%s)", EnvName(f.Name), v, byEnv, byFlag, f.Name, v)
				}
				// The flag wins over the environment.
				both, err := Parse([]string{"--" + f.Name + "=" + f.DefValue}, env(map[string]string{EnvName(f.Name): v}))
				if f.DefValue != "" && err == nil && reflect.DeepEqual(both, byFlag) {
					t.Fatalf("--%s=%s with %s=%s: got the environment's value, want the flag's", f.Name, f.DefValue, EnvName(f.Name), v)
				}
				return
			}
			t.Fatalf("--%s: got no candidate value that changes the configuration, want one (extend candidates)", f.Name)
		})
	})
}

// TestHelpNamesEveryVariable checks that --help lists each switch with its
// environment variable and says that flags win.
func TestHelpNamesEveryVariable(t *testing.T) {
	var b bytes.Buffer
	Usage(&b, "test")
	help := b.String()
	c := Default()
	fs, _, _ := FlagSet(&c)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		if !strings.Contains(help, "--"+f.Name) || !strings.Contains(help, "[$"+EnvName(f.Name)+"]") {
			t.Errorf("--help: got no line for --%s with [$%s], want one", f.Name, EnvName(f.Name))
		}
	})
	if !strings.Contains(help, "command line wins") {
		t.Errorf("--help: got no word that a switch on the command line wins, want it")
	}
}
