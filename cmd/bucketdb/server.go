package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bucketdb/bucketdb/cluster"
	"github.com/bucketdb/bucketdb/s3"
	"github.com/bucketdb/bucketdb/store"
)

var (
	_ s3.Backend      = (*cluster.Node)(nil)
	_ s3.Locker       = (*cluster.Node)(nil)
	_ s3.UploadReader = (*cluster.Node)(nil)
)

// serverFlags are the flags of `bucketdb server`.
type serverFlags struct {
	data, listen, region, domains     string
	nodeID, gossip, join, advertise   string
	replicas, writeQuorum, readQuorum int
	logFormat, logLevel               string
	gcInterval                        time.Duration
	lifecycleDay, lifecycleInterval   time.Duration
	clockOffset                       time.Duration
	noSync                            bool

	// Operations (ops.go, httplog.go).
	minFreeDisk             string
	minFreeBytes            int64
	minFreePercent          float64
	gcDiscardRatio          float64
	healthAuth, metricsAuth bool
	logHeaders              bool
	pprof                   string
}

func parseServerFlags(args []string) (serverFlags, error) {
	var f serverFlags
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&f.data, "data", "./bucketdb-data", "data directory")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9000", "S3 listen address HOST:PORT")
	fs.StringVar(&f.region, "region", "us-east-1", "region reported to clients")
	fs.StringVar(&f.domains, "domain", "", "comma-separated domains for virtual-host-style addressing (BUCKET.DOMAIN)")
	fs.StringVar(&f.nodeID, "node-id", "", "node ID (default: generated once and kept in the data directory)")
	fs.StringVar(&f.gossip, "gossip", "", "memberlist bind address HOST:PORT (default: none, a cluster of one)")
	fs.StringVar(&f.advertise, "advertise", "", "address HOST:PORT other nodes use for S3/RPC (default: --listen)")
	fs.StringVar(&f.join, "join", "", "comma-separated gossip addresses of nodes to join")
	fs.IntVar(&f.replicas, "replicas", 3, "replication factor N (capped by cluster size)")
	fs.IntVar(&f.writeQuorum, "write-quorum", 0, "write quorum W (0: majority of N)")
	fs.IntVar(&f.readQuorum, "read-quorum", 0, "read quorum R (0: majority of N)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&f.gcInterval, "gc-interval", 10*time.Minute, "interval of background garbage collection (0 disables)")
	fs.DurationVar(&f.lifecycleInterval, "lifecycle-interval", time.Minute, "how often bucket lifecycle rules are applied (0 disables)")
	fs.DurationVar(&f.lifecycleDay, "lifecycle-day", 24*time.Hour, "length of a lifecycle day (tests shorten it)")
	fs.Float64Var(&f.gcDiscardRatio, "gc-discard-ratio", 0.5, "value-log GC rewrites a file when at least this fraction of it is stale (0 < r < 1)")
	fs.StringVar(&f.minFreeDisk, "min-free-disk", "1GiB", "free-space floor of the data directory's filesystem: writes that would go below it fail with 507 InsufficientStorage (bytes with optional KB/MB/GB/KiB/MiB/GiB/TiB suffix, or a percentage like 5%; 0 disables)")
	fs.BoolVar(&f.healthAuth, "health-auth", false, "require a SigV4-signed request for GET /health (live and ready never need one)")
	fs.BoolVar(&f.metricsAuth, "metrics-auth", false, "require a SigV4-signed request for GET /metrics")
	fs.BoolVar(&f.logHeaders, "log-headers", false, "log request and response headers at debug level (credentials redacted; needs --log-level debug)")
	fs.StringVar(&f.pprof, "pprof", "", "serve Go profiling (net/http/pprof under /debug/pprof/) on HOST:PORT; unauthenticated, so keep it on 127.0.0.1 (default: off)")
	fs.DurationVar(&f.clockOffset, "test-clock-offset", 0, "testing only: shift this node's clock")
	fs.BoolVar(&f.noSync, "test-no-sync", false, "testing only: skip fsync (unsafe)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if f.minFreeBytes, f.minFreePercent, err = parseFloor(f.minFreeDisk); err != nil {
		return f, fmt.Errorf("--min-free-disk: %w", err)
	}
	if f.gcDiscardRatio <= 0 || f.gcDiscardRatio >= 1 {
		return f, fmt.Errorf("--gc-discard-ratio %v: must be between 0 and 1", f.gcDiscardRatio)
	}
	return f, nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

func runServer(args []string) int {
	f, err := parseServerFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bucketdb server:", err)
		return 2
	}
	log, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bucketdb server:", err)
		return 2
	}
	if err := serve(f, log); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	return 0
}

// serve runs a node until SIGINT/SIGTERM, then shuts down in order: stop
// accepting requests and let in-flight ones finish, leave the cluster, close
// the store.
func serve(f serverFlags, log *slog.Logger) error {
	if err := os.MkdirAll(f.data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	creds, err := loadCredentials(f.data)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	o := &ops{f: f, log: log, started: time.Now()}
	if err := o.newMetrics(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}

	scfg := store.DefaultConfig(filepath.Join(f.data, "store"))
	scfg.Logger = log.With("component", "store")
	scfg.NoSync = f.noSync
	scfg.GCInterval = f.gcInterval
	scfg.GCDiscardRatio = f.gcDiscardRatio
	scfg.MinFreeBytes, scfg.MinFreePercent = f.minFreeBytes, f.minFreePercent
	scfg.OnGC = o.onGC
	st, err := store.Open(scfg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	advertise := f.advertise
	if advertise == "" {
		advertise = ln.Addr().String()
	}

	ccfg := cluster.DefaultConfig()
	ccfg.NodeID = f.nodeID
	ccfg.DataDir = f.data
	ccfg.GossipAddr = f.gossip
	ccfg.Join = splitList(f.join)
	ccfg.Replicas = f.replicas
	ccfg.WriteQuorum = f.writeQuorum
	ccfg.ReadQuorum = f.readQuorum
	ccfg.Secret = os.Getenv("BUCKETDB_CLUSTER_SECRET")
	ccfg.RPCAddr = advertise
	ccfg.S3Addr = advertise
	ccfg.ClockOffset = f.clockOffset
	ccfg.Logger = log.With("component", "cluster")
	ccfg.Locks = o.m
	node, err := cluster.New(ccfg, st)
	if err != nil {
		ln.Close()
		return fmt.Errorf("start cluster node: %w", err)
	}
	defer node.Close()
	o.st, o.node = st, node
	lcInterval := f.lifecycleInterval
	if lcInterval == 0 {
		lcInterval = -1 // disabled
	}
	lc, err := node.StartLifecycle(cluster.LifecycleConfig{Day: f.lifecycleDay, Interval: lcInterval,
		Logger: log.With("component", "lifecycle")})
	if err != nil {
		ln.Close()
		return fmt.Errorf("start lifecycle worker: %w", err)
	}
	o.lc = lc

	s3cfg := s3.DefaultConfig()
	s3cfg.Region = f.region
	s3cfg.Domains = splitList(f.domains)
	s3cfg.Verifier = s3.NewVerifier(map[string]string{creds.AccessKey: creds.SecretKey}, f.region)
	s3cfg.Logger = log.With("component", "s3")
	s3cfg.OnRequest = o.onRequest
	s3cfg.Ready = o.ready
	s3cfg.Health = o.health
	s3cfg.HealthAuth = f.healthAuth
	// POST Object forms spool their file next to the data, not in /tmp.
	s3cfg.SpoolDir = filepath.Join(f.data, "spool")
	if err := os.MkdirAll(s3cfg.SpoolDir, 0o700); err != nil {
		ln.Close()
		return fmt.Errorf("spool directory: %w", err)
	}
	o.verify = s3cfg.Verifier
	api := s3.New(s3cfg, node)

	root := routeHTTP(node.Handler(), o.opsHandler(), o.metricsOr(api), api)
	hs := &http.Server{Handler: logHTTP(root, log, f.logHeaders), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}

	errc := make(chan error, 2)
	if f.pprof != "" {
		pln, err := net.Listen("tcp", f.pprof)
		if err != nil {
			ln.Close()
			return fmt.Errorf("pprof listen: %w", err)
		}
		ps := &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 30 * time.Second}
		defer ps.Close()
		go func() {
			if err := ps.Serve(pln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("pprof: %w", err)
			}
		}()
		log.Info("profiling enabled", "addr", pln.Addr().String())
	}
	printBanner(ln.Addr().String(), f.data, creds)
	go func() { errc <- hs.Serve(ln) }()

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case sig := <-sigc:
		log.Info("shutting down", "signal", sig.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
	}
	return nil
}

// pprofHandler serves Go's profiles (CPU, heap, goroutines, mutex,
// execution trace) for --pprof, on its own listener so that they are never
// reachable through the S3 port.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func printBanner(addr, data string, c credentials) {
	fmt.Printf("BucketDB %s serving S3 on http://%s (data in %s)\n", version, addr, data)
	switch {
	case c.FromFile == "":
		fmt.Printf("  credentials: from BUCKETDB_ACCESS_KEY / BUCKETDB_SECRET_KEY\n")
	default:
		if c.Generated {
			fmt.Printf("  generated new credentials, kept in %s\n", c.FromFile)
		} else {
			fmt.Printf("  credentials from %s\n", c.FromFile)
		}
		fmt.Printf("  access key: %s\n  secret key: %s\n", c.AccessKey, c.SecretKey)
	}
	fmt.Printf("  try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=... aws --endpoint-url http://%s s3 ls\n", c.AccessKey, addr)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// routeHTTP sends internal RPC, admin and metrics paths to their handlers and
// everything else to the S3 API. It deliberately is not an http.ServeMux,
// which cleans paths and redirects: S3 keys may contain "//", "." and "..".
func routeHTTP(internal, ops, metrics, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, opsPrefix):
			ops.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/_bucketdb/"):
			internal.ServeHTTP(w, r)
		case p == metricsPath:
			metrics.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
