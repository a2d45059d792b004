package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorder collects the latencies and bytes of one load phase; safe for
// concurrent use.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	bytes  int64
	errors int
	first  error
}

func (r *recorder) add(d time.Duration, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		if r.first == nil {
			r.first = err
		}
		return
	}
	r.lat = append(r.lat, d)
	r.bytes += n
}

// result is one line of the report.
type result struct {
	Op          string
	Size        int64 // object size (0 for LIST)
	Concurrency int
	Ops         int
	Errors      int
	FirstError  error
	Elapsed     time.Duration
	P50         time.Duration
	P90         time.Duration
	P99         time.Duration
	Bytes       int64
	PeakRSS     int64 // bytes; 0 when unknown
	Note        string
}

func (r *recorder) result(op string, size int64, conc int, elapsed time.Duration) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return result{
		Op: op, Size: size, Concurrency: conc, Ops: len(r.lat), Errors: r.errors, FirstError: r.first,
		Elapsed: elapsed, Bytes: r.bytes,
		P50: percentile(r.lat, 0.50), P90: percentile(r.lat, 0.90), P99: percentile(r.lat, 0.99),
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r result) opsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

func (r result) mbPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds()
}

func printHeader(w io.Writer) {
	fmt.Fprintf(w, "%-8s %8s %5s %8s %10s %9s %9s %9s %9s %6s %9s  %s\n",
		"op", "size", "conc", "ops", "ops/s", "MiB/s", "p50", "p90", "p99", "errors", "peakRSS", "note")
}

func printResult(w io.Writer, r result) {
	size := "-"
	if r.Size > 0 {
		size = formatSize(r.Size)
	}
	rss := "-"
	if r.PeakRSS > 0 {
		rss = fmt.Sprintf("%.0fMiB", float64(r.PeakRSS)/(1<<20))
	}
	fmt.Fprintf(w, "%-8s %8s %5d %8d %10.1f %9.1f %9s %9s %9s %6d %9s  %s\n",
		r.Op, size, r.Concurrency, r.Ops, r.opsPerSec(), r.mbPerSec(),
		fmtDur(r.P50), fmtDur(r.P90), fmtDur(r.P99), r.Errors, rss, r.Note)
	if r.FirstError != nil {
		fmt.Fprintf(os.Stderr, "  first error of %s %s c=%d: %v\n", r.Op, size, r.Concurrency, r.FirstError)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// parseSize reads "4KiB", "1MiB", "64MiB", "1GiB", "4096", "4k", "1m".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
		{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := parse(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
