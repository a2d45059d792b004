package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bucketdb/bucketdb/cluster"
	"github.com/bucketdb/bucketdb/metrics"
	"github.com/bucketdb/bucketdb/reqid"
	"github.com/bucketdb/bucketdb/s3"
	"github.com/bucketdb/bucketdb/store"
)

// Operations endpoints served beside the S3 API (README "Operations"):
//
//	GET  /metrics                     Prometheus text (SigV4 with --metrics-auth)
//	GET  /_bucketdb/ops/status        node health + cluster status (SigV4)
//	POST /_bucketdb/ops/gc            run garbage collection now (SigV4)
//	POST /_bucketdb/ops/scrub         verify every checksum, repair (SigV4)
//	GET  /_bucketdb/ops/config        the server's configuration (SigV4)
//	POST /_bucketdb/ops/remove?node=ID decommission a member (SigV4)
//
// The ops endpoints are signed with the node's S3 credentials (SigV4), so
// `bucketdb admin` signs them like any S3 client would; the cluster's own
// /_bucketdb/admin/ endpoints use the cluster secret instead.
const (
	metricsPath = "/metrics"
	opsPrefix   = "/_bucketdb/ops/"
)

// ops holds what the ops endpoints, the health document and the metrics
// read.
type ops struct {
	f       serverFlags
	log     *slog.Logger
	st      *store.Store
	node    *cluster.Node
	lc      *cluster.Lifecycle // nil until started
	verify  *s3.Verifier
	reg     *prometheus.Registry
	m       *metrics.Metrics
	started time.Time
}

// newMetrics creates the registry and the metrics; the store and node are
// read through o when scraped (they are set before the listener serves).
func (o *ops) newMetrics() error {
	o.reg = prometheus.NewRegistry()
	o.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(metrics.Config{
		Registerer: o.reg,
		Version:    version,
		Store: func(ctx context.Context) (metrics.StoreStats, error) {
			s, err := o.st.Stats(ctx)
			return metrics.StoreStats{Objects: s.Objects, Versions: s.Versions, Bytes: s.Bytes,
				DataBytes: s.DataBytes, LSMBytes: s.LSMSize, VlogBytes: s.VlogSize}, err
		},
		Disk: func() (metrics.Disk, error) {
			du, err := o.st.DiskUsage()
			return metrics.Disk{Total: du.Total, Free: du.Free, Floor: o.st.DiskFloor(du.Total)}, err
		},
		Commits: func() metrics.Commits {
			cs := o.st.CommitStats()
			return metrics.Commits{Batches: cs.Batches, Commits: cs.Commits, Busy: cs.Busy}
		},
		Members: func() []metrics.Member {
			var out []metrics.Member
			for _, m := range o.node.MemberStates() {
				out = append(out, metrics.Member{ID: m.ID, State: m.State, Lifecycle: m.Lifecycle})
			}
			return out
		},
		Heal: func() metrics.Heal {
			h := o.node.HealInfo()
			return metrics.Heal{Backlog: h.Backlog, Passes: h.Passes}
		},
		Lifecycle: func() map[string]int64 {
			if o.lc == nil {
				return nil
			}
			s := o.lc.Stats()
			return map[string]int64{"expire": s.Expired, "noncurrent_expire": s.NoncurrentRemoved,
				"delete_marker_cleanup": s.MarkersRemoved, "abort_upload": s.UploadsAborted}
		},
	})
	o.m = m
	return err
}

// onGC feeds store GC results to the metrics and the log.
func (o *ops) onGC(r store.GCResult) {
	o.m.ObserveGC(r.At, r.Reclaimed, r.OrphanFiles)
	o.log.Info("garbage collection", "component", "store", "vlog_rewrites", r.VlogRewrites,
		"reclaimed", r.Reclaimed, "orphan_files", r.OrphanFiles, "duration", r.Duration)
}

func (o *ops) onRequest(s s3.RequestSummary) {
	o.m.ObserveRequest(s.Operation, s.Status, s.BytesIn, s.BytesOut, s.Duration)
}

// healthDoc is the JSON document of GET /health.
type healthDoc struct {
	NodeID        string                `json:"node_id"`
	Version       string                `json:"version"`
	Started       time.Time             `json:"started"`
	UptimeSeconds int64                 `json:"uptime_seconds"`
	Ready         bool                  `json:"ready"`
	NotReady      string                `json:"not_ready_reason,omitempty"`
	Store         string                `json:"store"`
	Disk          diskDoc               `json:"disk"`
	Members       []cluster.MemberState `json:"members"`
	Healing       cluster.HealInfo      `json:"healing"`
	LastGC        *store.GCResult       `json:"last_gc,omitempty"`
	GCInterval    string                `json:"gc_interval"`
}

type diskDoc struct {
	Path          string  `json:"path"`
	Total         int64   `json:"total_bytes"`
	Free          int64   `json:"free_bytes"`
	FreePercent   float64 `json:"free_percent"`
	Floor         int64   `json:"floor_bytes"`
	WritesAllowed bool    `json:"writes_allowed"`
	Error         string  `json:"error,omitempty"`
}

func (o *ops) health(ctx context.Context) any {
	d := healthDoc{NodeID: o.node.ID(), Version: version, Started: o.started.UTC(),
		UptimeSeconds: int64(time.Since(o.started).Seconds()), Members: o.node.MemberStates(),
		Healing: o.node.HealInfo(), GCInterval: o.f.gcInterval.String(), Store: "open"}
	if err := o.ready(ctx); err != nil {
		d.NotReady = err.Error()
	} else {
		d.Ready = true
	}
	if _, err := o.st.ListBuckets(ctx); err != nil {
		d.Store = "error: " + err.Error()
	}
	d.Disk.Path = o.f.data
	if du, err := o.st.DiskUsage(); err != nil {
		d.Disk.Error = err.Error()
	} else {
		d.Disk.Total, d.Disk.Free, d.Disk.FreePercent = du.Total, du.Free, du.FreePercent()
		d.Disk.Floor = o.st.DiskFloor(du.Total)
		d.Disk.WritesAllowed = o.st.CheckFree(0) == nil
	}
	if gc := o.st.LastGC(); !gc.At.IsZero() {
		d.LastGC = &gc
	}
	return d
}

// ready is the readiness check: the node's own view of the cluster.
func (o *ops) ready(ctx context.Context) error {
	return o.node.Ready(ctx)
}

// authenticate checks a SigV4 signature made with the node's S3 keys.
func (o *ops) authenticate(r *http.Request) error {
	p, err := o.verify.Authenticate(r)
	if err != nil {
		return err
	}
	if p == nil || p.Anonymous {
		return errors.New("a signed request is required")
	}
	return nil
}

// metricsOr serves GET /metrics (no query) as metrics and passes anything
// else on that path (a bucket named "metrics") to the S3 API.
func (o *ops) metricsOr(api http.Handler) http.Handler {
	m := o.metricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawQuery == "" && r.URL.Path == metricsPath {
			m.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// metricsHandler serves /metrics, signed or not as --metrics-auth says.
func (o *ops) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)})
	if !o.f.metricsAuth {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.authenticate(r); err != nil {
			http.Error(w, "metrics: "+err.Error(), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// opsHandler serves /_bucketdb/ops/*.
func (o *ops) opsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.authenticate(r); err != nil {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
			return
		}
		name := strings.TrimPrefix(r.URL.Path, opsPrefix)
		method := map[string]string{"status": http.MethodGet, "config": http.MethodGet,
			"gc": http.MethodPost, "scrub": http.MethodPost, "remove": http.MethodPost}[name]
		if method == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + name})
			return
		}
		if r.Method != method {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": name + " needs " + method})
			return
		}
		res, err := o.serveOp(r.Context(), name, r.URL.Query())
		if err != nil {
			o.log.Warn("admin operation failed", "op", name, "err", err, "request_id", reqid.From(r.Context()))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

func (o *ops) serveOp(ctx context.Context, name string, q url.Values) (any, error) {
	switch name {
	case "status":
		return struct {
			Node    any                   `json:"node"`
			Cluster cluster.ClusterStatus `json:"cluster"`
		}{o.health(ctx), o.node.Status(ctx)}, nil
	case "gc":
		return o.st.RunGC(ctx)
	case "scrub":
		rep, err := o.node.Scrub(ctx)
		repaired := 0
		for _, b := range rep.Bad {
			if b.Repaired {
				repaired++
			}
		}
		o.m.ObserveScrub(len(rep.Bad), repaired)
		o.log.Info("scrub", "versions", rep.Versions, "parts", rep.Parts, "bad", len(rep.Bad),
			"repaired", repaired, "duration", rep.Duration)
		return rep, err
	case "config":
		return o.public(), nil
	case "remove":
		id := q.Get("node")
		if id == "" {
			return nil, errors.New("remove needs ?node=ID")
		}
		if err := o.node.Remove(ctx, id); err != nil {
			return nil, err
		}
		return map[string]string{"removing": id,
			"note": "the member drains its data to the new owners, then leaves; follow it with admin status"}, nil
	}
	return nil, fmt.Errorf("unknown operation %q", name)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the reply failed"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// parseFloor parses --min-free-disk: "5%", "0", "1073741824", "512MiB",
// "10GB".
func parseFloor(v string) (bytes int64, percent float64, err error) {
	v = strings.TrimSpace(v)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		percent, err = strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || percent < 0 || percent >= 100 {
			return 0, 0, fmt.Errorf("%q: a percentage must be in [0, 100)", v)
		}
		return 0, percent, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, 0, fmt.Errorf("%q: want bytes (with an optional unit such as GiB) or a percentage", v)
	}
	return int64(n * float64(mult)), 0, nil
}

// publicConfig is the configuration shown by admin config (no secrets).
type publicConfig struct {
	Version        string  `json:"version"`
	NodeID         string  `json:"node_id"`
	Data           string  `json:"data"`
	Listen         string  `json:"listen"`
	Advertise      string  `json:"advertise,omitempty"`
	Region         string  `json:"region"`
	Domains        string  `json:"domains,omitempty"`
	Gossip         string  `json:"gossip,omitempty"`
	Join           string  `json:"join,omitempty"`
	Replicas       int     `json:"replicas"`
	WriteQuorum    int     `json:"write_quorum"`
	ReadQuorum     int     `json:"read_quorum"`
	LogFormat      string  `json:"log_format"`
	LogLevel       string  `json:"log_level"`
	LogHeaders     bool    `json:"log_headers"`
	GCInterval     string  `json:"gc_interval"`
	GCDiscardRatio float64 `json:"gc_discard_ratio"`
	MinFreeDisk    string  `json:"min_free_disk"`
	HealthAuth     bool    `json:"health_auth"`
	MetricsAuth    bool    `json:"metrics_auth"`
	NoSync         bool    `json:"test_no_sync,omitempty"`
}

func (o *ops) public() publicConfig {
	f := o.f
	return publicConfig{Version: version, NodeID: o.node.ID(), Data: f.data, Listen: f.listen,
		Advertise: f.advertise, Region: f.region, Domains: f.domains, Gossip: f.gossip, Join: f.join,
		Replicas: f.replicas, WriteQuorum: f.writeQuorum, ReadQuorum: f.readQuorum,
		LogFormat: f.logFormat, LogLevel: f.logLevel, LogHeaders: f.logHeaders,
		GCInterval: f.gcInterval.String(), GCDiscardRatio: f.gcDiscardRatio, MinFreeDisk: f.minFreeDisk,
		HealthAuth: f.healthAuth, MetricsAuth: f.metricsAuth, NoSync: f.noSync}
}
