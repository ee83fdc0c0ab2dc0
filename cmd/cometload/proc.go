package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime/stime in /proc/PID/stat (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// ProcSample is the server's resource use at one moment, summed over its
// processes (an nginx master and its workers).
type ProcSample struct {
	Procs   int
	RSS     int64 // bytes, VmRSS
	PSS     int64 // bytes, proportional: shared pages counted once overall
	Threads int
	CPU     time.Duration // utime + stime
}

// Procs are the server's processes: the given pids and their children.
type Procs struct{ Roots []int }

// ParsePids reads "1,2,3".
func ParsePids(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("bad pid %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// pids lists the roots and every process whose parent is one of them.
func (p Procs) pids() []int {
	out := append([]int(nil), p.Roots...)
	isRoot := map[int]bool{}
	for _, r := range p.Roots {
		isRoot[r] = true
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fields := statFields(b)
		if len(fields) > 2 {
			ppid, _ := strconv.Atoi(fields[1])
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if isRoot[ppid] && !isRoot[pid] {
				out = append(out, pid)
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// [0] is state, [1] ppid, [11] utime, [12] stime.
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// Sample reads /proc for every process of the server. Zero Procs gives a
// zero sample.
func (p Procs) Sample() (ProcSample, error) {
	var s ProcSample
	if len(p.Roots) == 0 {
		return s, nil
	}
	for _, pid := range p.pids() {
		dir := "/proc/" + strconv.Itoa(pid)
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return s, err
		}
		f := statFields(b)
		if len(f) < 13 {
			return s, fmt.Errorf("%s/stat: short", dir)
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		s.CPU += time.Duration(ut+st) * clockTick
		s.Procs++
		status, err := readKB(dir+"/status", "VmRSS:", "Threads:")
		if err != nil {
			return s, err
		}
		s.RSS += status[0] * 1024
		s.Threads += int(status[1])
		if pss, err := readKB(dir+"/smaps_rollup", "Pss:"); err == nil {
			s.PSS += pss[0] * 1024
		}
	}
	return s, nil
}

// readKB reads the numbers after the given keys of a /proc key: value file.
func readKB(path string, keys ...string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make([]int64, len(keys))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for i, k := range keys {
			if strings.HasPrefix(line, k) {
				fs := strings.Fields(line[len(k):])
				if len(fs) > 0 {
					out[i], _ = strconv.ParseInt(fs[0], 10, 64)
				}
			}
		}
	}
	return out, sc.Err()
}
