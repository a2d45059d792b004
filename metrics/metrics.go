// Package metrics defines BucketDB's Prometheus metrics (all named
// bucketdb_*) on a registry the caller passes in; nothing is registered
// globally.
//
// Two kinds of figures:
//
//   - events that the code reports as they happen, through methods of
//     *Metrics: ObserveRequest (the S3 layer's per-request summary),
//     ObserveGC, ObserveScrub, LockGranted / LockConflict;
//   - state read at scrape time through functions in Config (store contents
//     and sizes, group-commit totals, disk space, cluster members, healing).
//     Store figures come from a full scan, so they are cached for
//     Config.StoreCacheTTL.
//
// The package imports nothing of BucketDB: cmd/ adapts the store and the
// cluster node to the small value types below, so no layer depends on it.
// All methods are safe for concurrent use and never block on I/O.
package metrics

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats are the store figures exported as gauges.
type StoreStats struct {
	Objects, Versions, Bytes int64 // keys, versions, logical bytes
	DataBytes                int64 // data files on disk
	LSMBytes, VlogBytes      int64 // Badger
}

// Disk is the space of the data directory's filesystem.
type Disk struct{ Total, Free, Floor int64 }

// Heal is the anti-entropy state of the node.
type Heal struct {
	Backlog, Passes int64
}

// Commits are the store's group-commit totals: batches (one transaction
// and its syncs each), the commits they carried, and the time they took.
type Commits struct {
	Batches, Commits int64
	Busy             time.Duration
}

// Member is one cluster member as the local node sees it.
type Member struct{ ID, State, Lifecycle string }

// Config says where the scrape-time figures come from. Nil functions leave
// their metrics out.
type Config struct {
	// Registerer receives every metric. Required.
	Registerer prometheus.Registerer
	// Version is exported as bucketdb_build_info{version}.
	Version string
	// Store scans the store; it is called at most once per StoreCacheTTL.
	Store         func(ctx context.Context) (StoreStats, error)
	StoreCacheTTL time.Duration // default 30s
	Disk          func() (Disk, error)
	Commits       func() Commits
	Members       func() []Member
	Heal          func() Heal
	// Lifecycle returns the lifecycle worker's action totals by action
	// (expire, noncurrent_expire, delete_marker_cleanup, abort_upload).
	Lifecycle func() map[string]int64
}

// Metrics holds the event metrics; create it with New.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	bytesIn       *prometheus.CounterVec
	bytesOut      *prometheus.CounterVec
	gcRuns        prometheus.Counter
	gcReclaimed   prometheus.Counter
	gcOrphans     prometheus.Counter
	gcLast        prometheus.Gauge
	scrubRuns     prometheus.Counter
	scrubBad      prometheus.Counter
	scrubRepaired prometheus.Counter
	lockGrants    prometheus.Counter
	lockConflicts prometheus.Counter
}

// Liveness states always exported by bucketdb_cluster_members, so a state
// with no member reads 0 instead of vanishing.
var memberStates = []string{"alive", "suspect", "dead"}

// New creates the metrics and registers them (and the scrape-time
// collector) on cfg.Registerer.
func New(cfg Config) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("metrics: Config.Registerer is required")
	}
	if cfg.StoreCacheTTL <= 0 {
		cfg.StoreCacheTTL = 30 * time.Second
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bucketdb_s3_requests_total",
			Help: "S3 requests by operation and HTTP status."}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bucketdb_s3_request_duration_seconds",
			Help:    "S3 request latency by operation (until the response body was written).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"operation"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bucketdb_s3_received_bytes_total",
			Help: "Decoded request body bytes received, by operation."}, []string{"operation"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bucketdb_s3_sent_bytes_total",
			Help: "Response body bytes sent, by operation."}, []string{"operation"}),
		gcRuns: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_gc_runs_total",
			Help: "Garbage collection runs (value-log GC and orphan sweep)."}),
		gcReclaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_gc_reclaimed_bytes_total",
			Help: "Bytes freed by garbage collection (value log and orphaned data files)."}),
		gcOrphans: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_gc_orphan_files_total",
			Help: "Unreferenced data files removed by garbage collection."}),
		gcLast: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bucketdb_gc_last_run_timestamp_seconds",
			Help: "Unix time of the last garbage collection run."}),
		scrubRuns: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_scrub_runs_total",
			Help: "Scrub passes (full checksum verification)."}),
		scrubBad: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_scrub_bad_total",
			Help: "Versions and parts a scrub found with bad data."}),
		scrubRepaired: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_scrub_repairs_total",
			Help: "Bad versions a scrub replaced from another replica."}),
		lockGrants: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_lock_grants_total",
			Help: "Distributed lock grants (acquire and renew) coordinated by this node."}),
		lockConflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "bucketdb_lock_conflicts_total",
			Help: "Lock requests refused because another holder had the lock."}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bucketdb_build_info",
		Help: "Always 1; the version label names the running build."}, []string{"version"})
	build.WithLabelValues(cfg.Version).Set(1)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytesIn, m.bytesOut,
		m.gcRuns, m.gcReclaimed, m.gcOrphans, m.gcLast, m.scrubRuns, m.scrubBad, m.scrubRepaired,
		m.lockGrants, m.lockConflicts, build, newStateCollector(cfg)} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest records one finished S3 request.
func (m *Metrics) ObserveRequest(op string, status int, in, out int64, d time.Duration) {
	m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(op).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(op).Add(float64(out))
	}
}

// ObserveGC records one garbage collection run.
func (m *Metrics) ObserveGC(at time.Time, reclaimed int64, orphanFiles int) {
	m.gcRuns.Inc()
	m.gcReclaimed.Add(float64(max(reclaimed, 0)))
	m.gcOrphans.Add(float64(max(orphanFiles, 0)))
	m.gcLast.Set(float64(at.UnixNano()) / 1e9)
}

// ObserveScrub records one scrub pass.
func (m *Metrics) ObserveScrub(bad, repaired int) {
	m.scrubRuns.Inc()
	m.scrubBad.Add(float64(bad))
	m.scrubRepaired.Add(float64(repaired))
}

// LockGranted counts a lock grant; LockConflict a refused lock request.
// The lock code calls them through an interface it declares, e.g.
//
//	type LockObserver interface{ LockGranted(); LockConflict() }
func (m *Metrics) LockGranted() { m.lockGrants.Inc() }

// LockConflict counts a lock request refused because of another holder.
func (m *Metrics) LockConflict() { m.lockConflicts.Inc() }

// stateCollector exports the scrape-time figures of Config.
type stateCollector struct {
	cfg Config

	mu        sync.Mutex
	cached    StoreStats
	cachedAt  time.Time
	cachedErr error

	objects, versions, bytes, dataBytes, lsm, vlog *prometheus.Desc
	diskTotal, diskFree, diskFloor                 *prometheus.Desc
	batches, commits, commitBusy                   *prometheus.Desc
	members, backlog, passes, storeUp              *prometheus.Desc
	lifecycle                                      *prometheus.Desc
}

func newStateCollector(cfg Config) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &stateCollector{cfg: cfg,
		objects:   d("bucketdb_store_objects", "Keys whose latest version is not a delete marker (cached scan)."),
		versions:  d("bucketdb_store_versions", "Object versions, delete markers included (cached scan)."),
		bytes:     d("bucketdb_store_bytes", "Logical bytes of all object versions (cached scan)."),
		dataBytes: d("bucketdb_store_data_file_bytes", "On-disk bytes of object data files (cached scan)."),
		lsm:       d("bucketdb_badger_lsm_bytes", "Size of Badger's LSM tree (.sst files)."),
		vlog:      d("bucketdb_badger_vlog_bytes", "Size of Badger's value log (.vlog files)."),
		storeUp:   d("bucketdb_store_scan_ok", "1 if the last store scan succeeded."),
		diskTotal: d("bucketdb_disk_total_bytes", "Size of the data directory's filesystem."),
		diskFree:  d("bucketdb_disk_free_bytes", "Free bytes of the data directory's filesystem."),
		diskFloor: d("bucketdb_disk_floor_bytes", "Free-space floor below which writes are refused."),
		batches: d("bucketdb_store_commit_batches_total",
			"Group-commit batches: one metadata transaction and its syncs each."),
		commits:    d("bucketdb_store_commits_total", "Commits (versions, deletes, part records) carried by the group-commit batches."),
		commitBusy: d("bucketdb_store_commit_busy_seconds_total", "Time spent applying and syncing group-commit batches."),
		members:    d("bucketdb_cluster_members", "Cluster members by liveness as this node sees them.", "state"),
		backlog:    d("bucketdb_heal_backlog", "Versions the last anti-entropy pass could not repair yet."),
		passes:     d("bucketdb_heal_passes_total", "Completed anti-entropy passes."),
		lifecycle:  d("bucketdb_lifecycle_actions_total", "Lifecycle actions applied, by action.", "action"),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.objects, c.versions, c.bytes, c.dataBytes, c.lsm, c.vlog,
		c.storeUp, c.diskTotal, c.diskFree, c.diskFloor, c.batches, c.commits, c.commitBusy, c.members, c.backlog, c.passes, c.lifecycle} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	if c.cfg.Store != nil {
		st, err := c.storeStats()
		ok := int64(1)
		if err != nil {
			ok = 0
		}
		gauge(c.storeUp, ok)
		gauge(c.objects, st.Objects)
		gauge(c.versions, st.Versions)
		gauge(c.bytes, st.Bytes)
		gauge(c.dataBytes, st.DataBytes)
		gauge(c.lsm, st.LSMBytes)
		gauge(c.vlog, st.VlogBytes)
	}
	if c.cfg.Disk != nil {
		if d, err := c.cfg.Disk(); err == nil {
			gauge(c.diskTotal, d.Total)
			gauge(c.diskFree, d.Free)
			gauge(c.diskFloor, d.Floor)
		}
	}
	if c.cfg.Commits != nil {
		cs := c.cfg.Commits()
		ch <- prometheus.MustNewConstMetric(c.batches, prometheus.CounterValue, float64(cs.Batches))
		ch <- prometheus.MustNewConstMetric(c.commits, prometheus.CounterValue, float64(cs.Commits))
		ch <- prometheus.MustNewConstMetric(c.commitBusy, prometheus.CounterValue, cs.Busy.Seconds())
	}
	if c.cfg.Members != nil {
		counts := map[string]int64{}
		for _, s := range memberStates {
			counts[s] = 0
		}
		for _, m := range c.cfg.Members() {
			if m.Lifecycle != "removed" {
				counts[m.State]++
			}
		}
		for s, n := range counts {
			gauge(c.members, n, s)
		}
	}
	if c.cfg.Heal != nil {
		h := c.cfg.Heal()
		gauge(c.backlog, h.Backlog)
		ch <- prometheus.MustNewConstMetric(c.passes, prometheus.CounterValue, float64(h.Passes))
	}
	if c.cfg.Lifecycle != nil {
		for action, n := range c.cfg.Lifecycle() {
			ch <- prometheus.MustNewConstMetric(c.lifecycle, prometheus.CounterValue, float64(n), action)
		}
	}
}

// storeStats returns the cached store figures, rescanning when they are
// older than the TTL. A failed scan keeps the last good figures.
func (c *stateCollector) storeStats() (StoreStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cachedAt.IsZero() && time.Since(c.cachedAt) < c.cfg.StoreCacheTTL {
		return c.cached, c.cachedErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.cfg.Store(ctx)
	if err == nil {
		c.cached = st
	}
	c.cachedAt, c.cachedErr = time.Now(), err
	return c.cached, err
}
