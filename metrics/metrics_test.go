package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("scrape lacks %q", l)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", text)
	}
}

func TestEventsAndState(t *testing.T) {
	reg := prometheus.NewRegistry()
	var scans atomic.Int32
	m, err := New(Config{
		Registerer: reg,
		Version:    "v1.2.3",
		Store: func(context.Context) (StoreStats, error) {
			scans.Add(1)
			return StoreStats{Objects: 3, Versions: 4, Bytes: 500, DataBytes: 600, LSMBytes: 7, VlogBytes: 8}, nil
		},
		Disk:    func() (Disk, error) { return Disk{Total: 1000, Free: 400, Floor: 50}, nil },
		Commits: func() Commits { return Commits{Batches: 4, Commits: 10, Busy: 1500 * time.Millisecond} },
		Members: func() []Member {
			return []Member{{"n1", "alive", "active"}, {"n2", "dead", "active"}, {"n3", "alive", "removed"}}
		},
		Heal:      func() Heal { return Heal{Backlog: 2, Passes: 9} },
		Lifecycle: func() map[string]int64 { return map[string]int64{"expire": 1, "abort_upload": 3} },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRequest("PutObject", 200, 100, 0, 5*time.Millisecond)
	m.ObserveRequest("PutObject", 200, 50, 0, time.Millisecond)
	m.ObserveRequest("GetObject", 404, 0, 300, time.Millisecond)
	m.ObserveGC(time.Unix(1700000000, 0), 4096, 2)
	m.ObserveScrub(1, 1)
	m.LockGranted()
	m.LockConflict()

	text := scrape(t, reg)
	wantLines(t, text,
		`bucketdb_s3_requests_total{operation="PutObject",status="200"} 2`,
		`bucketdb_s3_requests_total{operation="GetObject",status="404"} 1`,
		`bucketdb_s3_received_bytes_total{operation="PutObject"} 150`,
		`bucketdb_s3_sent_bytes_total{operation="GetObject"} 300`,
		`bucketdb_s3_request_duration_seconds_count{operation="PutObject"} 2`,
		`bucketdb_gc_runs_total 1`,
		`bucketdb_gc_reclaimed_bytes_total 4096`,
		`bucketdb_gc_orphan_files_total 2`,
		`bucketdb_gc_last_run_timestamp_seconds 1.7e+09`,
		`bucketdb_scrub_repairs_total 1`,
		`bucketdb_lock_grants_total 1`,
		`bucketdb_lock_conflicts_total 1`,
		`bucketdb_lifecycle_actions_total{action="abort_upload"} 3`,
		`bucketdb_build_info{version="v1.2.3"} 1`,
		`bucketdb_store_objects 3`,
		`bucketdb_store_bytes 500`,
		`bucketdb_badger_vlog_bytes 8`,
		`bucketdb_disk_free_bytes 400`,
		`bucketdb_disk_floor_bytes 50`,
		`bucketdb_cluster_members{state="alive"} 1`,
		`bucketdb_cluster_members{state="dead"} 1`,
		`bucketdb_cluster_members{state="suspect"} 0`,
		`bucketdb_heal_backlog 2`,
		`bucketdb_heal_passes_total 9`,
		`bucketdb_store_commit_batches_total 4`,
		`bucketdb_store_commits_total 10`,
		`bucketdb_store_commit_busy_seconds_total 1.5`,
	)
	scrape(t, reg)
	if n := scans.Load(); n != 1 {
		t.Errorf("store scanned %d times in two scrapes, want 1 (cached)", n)
	}
}

func TestStoreScanFailureKeepsLastFigures(t *testing.T) {
	reg := prometheus.NewRegistry()
	fail := false
	_, err := New(Config{Registerer: reg, StoreCacheTTL: time.Nanosecond,
		Store: func(context.Context) (StoreStats, error) {
			if fail {
				return StoreStats{}, errors.New("closed")
			}
			return StoreStats{Objects: 5}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, scrape(t, reg), "bucketdb_store_objects 5", "bucketdb_store_scan_ok 1")
	fail = true
	time.Sleep(time.Millisecond)
	wantLines(t, scrape(t, reg), "bucketdb_store_objects 5", "bucketdb_store_scan_ok 0")
}

func TestNewNeedsRegisterer(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a Registerer succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Registerer: reg}); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}
