package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// ReadResults reads JSON lines written by cometload (other lines are
// skipped).
func ReadResults(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// headline metrics per scenario, with whether lower is better.
var headline = map[string][]struct {
	name  string
	lower bool
}{
	"held":    {{"pss_per_poll_bytes", true}, {"rss_per_poll_bytes", true}, {"release_ms", true}, {"release_cpu_us_per_poll", true}, {"not_released", true}},
	"fanout":  {{"cpu_us_per_delivery", true}, {"latency_p50_ms", true}, {"latency_p99_ms", true}, {"deliveries_per_s", false}, {"publish_rate", false}, {"missed", true}, {"duplicates", true}},
	"publish": {{"cpu_us_per_publish", true}, {"publishes_per_s", false}, {"latency_p99_ms", true}},
	"churn":   {{"rss_growth_mb", true}, {"goroutines_after", true}, {"threads_after", true}, {"missed", true}, {"latency_p99_ms", true}},
	"soak":    {{"soak_rss_growth_mb", true}, {"soak_goroutine_growth", true}, {"missed", true}, {"latency_p99_ms", true}},
}

func paramKey(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v ", k, p[k])
	}
	return strings.TrimSpace(b.String())
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Summarize prints, per scenario and parameters, the median (and range) of
// each headline metric for every server, and the ratio of base (ours) to
// each other server: the median over runs of the per-run ratio (runs paired
// by number) and its spread.
func Summarize(results []Result, base string, w io.Writer) {
	type group struct {
		scenario, params string
		runs             map[string]map[int]Result // server -> run -> result
	}
	groups := map[string]*group{}
	var order []string
	for _, r := range results {
		k := r.Scenario + " " + paramKey(r.Params)
		g := groups[k]
		if g == nil {
			g = &group{scenario: r.Scenario, params: paramKey(r.Params), runs: map[string]map[int]Result{}}
			groups[k] = g
			order = append(order, k)
		}
		if g.runs[r.Server] == nil {
			g.runs[r.Server] = map[int]Result{}
		}
		g.runs[r.Server][r.Run] = r
	}
	for _, k := range order {
		g := groups[k]
		servers := make([]string, 0, len(g.runs))
		for s := range g.runs {
			servers = append(servers, s)
		}
		sort.Strings(servers)
		fmt.Fprintf(w, "\n### %s (%s)\n\n", g.scenario, g.params)
		fmt.Fprintf(w, "| metric | %s |", strings.Join(servers, " | "))
		others := []string{}
		for _, s := range servers {
			if s != base {
				others = append(others, s)
				fmt.Fprintf(w, " %s ÷ %s |", base, s)
			}
		}
		// "Better" is the better peer: another build of ours (ours-alt,
		// ours-redis beside ours) is compared with, not taken as one.
		peers := []string{}
		for _, s := range others {
			if !strings.HasPrefix(s, "ours") {
				peers = append(peers, s)
			}
		}
		if len(peers) > 1 {
			fmt.Fprintf(w, " %s ÷ better |", base)
		}
		cols := len(servers) + len(others)
		if len(peers) > 1 {
			cols++
		}
		fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", cols))
		for _, h := range headline[g.scenario] {
			fmt.Fprintf(w, "| %s |", h.name)
			for _, s := range servers {
				var v []float64
				for _, r := range g.runs[s] {
					if x, ok := r.Metrics[h.name]; ok {
						v = append(v, x)
					}
				}
				if len(v) == 0 {
					fmt.Fprintf(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %s (%s–%s, n=%d) |", num(median(v)), num(slices.Min(v)), num(slices.Max(v)), len(v))
			}
			for _, s := range others {
				var ratios []float64
				for run, rb := range g.runs[base] {
					ro, ok := g.runs[s][run]
					a, okA := rb.Metrics[h.name]
					b, okB := ro.Metrics[h.name]
					if ok && okA && okB && b != 0 {
						ratios = append(ratios, a/b)
					}
				}
				if len(ratios) == 0 {
					fmt.Fprintf(w, " – |")
					continue
				}
				fmt.Fprintf(w, " **%.2f** (%.2f–%.2f) |", median(ratios), slices.Min(ratios), slices.Max(ratios))
			}
			if len(peers) > 1 {
				writeRatio(w, betterRatios(g.runs, base, peers, h.name, h.lower))
			}
			fmt.Fprintln(w)
		}
	}
}

func num(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 100 || x <= -100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10 || x <= -10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// betterRatios pairs each run of base with the better of the other servers
// in the same run (lower or higher, as the metric wants).
func betterRatios(runs map[string]map[int]Result, base string, others []string, metric string, lower bool) []float64 {
	var out []float64
	for run, rb := range runs[base] {
		a, ok := rb.Metrics[metric]
		if !ok {
			continue
		}
		best, found := 0.0, 0
		for _, s := range others {
			ro, ok := runs[s][run]
			if !ok {
				continue
			}
			v, ok := ro.Metrics[metric]
			if !ok {
				continue
			}
			if found == 0 || (lower && v < best) || (!lower && v > best) {
				best = v
			}
			found++
		}
		if found == len(others) && best != 0 {
			out = append(out, a/best)
		}
	}
	return out
}

func writeRatio(w io.Writer, ratios []float64) {
	if len(ratios) == 0 {
		fmt.Fprintf(w, " – |")
		return
	}
	fmt.Fprintf(w, " **%.2f** (%.2f–%.2f) |", median(ratios), slices.Min(ratios), slices.Max(ratios))
}
