// Command bench is BucketDB's load generator. It drives any S3 endpoint
// (BucketDB, MinIO, AWS, …) with minio-go and prints, per phase, operations
// per second, MiB/s, latency percentiles (p50/p90/p99) and, given the
// server's PID on this machine, the server's peak resident memory.
//
//	go run ./scripts/bench -endpoint http://127.0.0.1:9000 -access-key K -secret-key S [-pid PID]
//
// Modes (-modes, comma-separated):
//
//	standard   PUT then GET of each -sizes object size with each -concurrency
//	           number of clients for -duration each, then LIST of a
//	           -list-keys bucket (full listing, pages of 1000).
//	stream     -stream-clients clients each PUT one -stream-size object as a
//	           single streamed request: the server's memory must stay flat.
//	versions   GET/HEAD/PUT/LIST on a key with one version and on a key with
//	           -versions versions; the ratio shows whether cost grows with
//	           history.
//	complete   CompleteMultipartUpload time for 1 part and for
//	           -complete-parts parts of -part-size.
//
// Workers share one read-only random buffer for bodies, so the generator's
// own memory stays small; payloads are sent UNSIGNED-PAYLOAD unless
// -sign-payload is set (streaming SHA-256 signing costs client CPU that a
// two-core machine shares with the server).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

type config struct {
	endpoint, accessKey, secretKey, region string
	bucket                                 string
	keep                                   bool
	pid                                    int
	modes                                  []string
	sizes                                  []int64
	concurrency                            []int
	duration                               time.Duration
	maxOps                                 int
	listKeys                               int
	streamClients                          int
	streamSize                             int64
	versions                               int
	completeParts                          int
	partSize                               int64
	signPayload                            bool
	waitReady                              time.Duration
}

func parseFlags() (config, error) {
	var c config
	var modes, sizes, conc, streamSize, partSize string
	flag.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:9000", "S3 endpoint URL")
	flag.StringVar(&c.accessKey, "access-key", os.Getenv("BUCKETDB_ACCESS_KEY"), "access key (default $BUCKETDB_ACCESS_KEY)")
	flag.StringVar(&c.secretKey, "secret-key", os.Getenv("BUCKETDB_SECRET_KEY"), "secret key (default $BUCKETDB_SECRET_KEY)")
	flag.StringVar(&c.region, "region", "us-east-1", "region")
	flag.StringVar(&c.bucket, "bucket", "", "bucket to use (default: a new bench-<time> bucket, removed at the end)")
	flag.BoolVar(&c.keep, "keep", false, "keep the objects and the bucket")
	flag.IntVar(&c.pid, "pid", 0, "server PID on this machine, to report its peak RSS")
	flag.StringVar(&modes, "modes", "standard", "comma-separated: standard, stream, versions, complete")
	flag.StringVar(&sizes, "sizes", "4KiB,1MiB,64MiB", "object sizes of the standard mode")
	flag.StringVar(&conc, "concurrency", "1,16", "client counts of the standard mode")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "duration of each phase")
	flag.IntVar(&c.maxOps, "max-ops", 0, "end a phase after this many operations (0: no limit)")
	flag.IntVar(&c.listKeys, "list-keys", 10000, "keys in the LIST bucket (0 skips LIST)")
	flag.IntVar(&c.streamClients, "stream-clients", 16, "clients of the stream mode")
	flag.StringVar(&streamSize, "stream-size", "256MiB", "object size of the stream mode")
	flag.IntVar(&c.versions, "versions", 10000, "versions of the many-versions key (versions mode)")
	flag.IntVar(&c.completeParts, "complete-parts", 1000, "parts of the large upload (complete mode)")
	flag.StringVar(&partSize, "part-size", "5MiB", "part size (complete mode)")
	flag.BoolVar(&c.signPayload, "sign-payload", false, "sign payloads (streaming SHA-256) instead of UNSIGNED-PAYLOAD")
	flag.DurationVar(&c.waitReady, "wait-ready", 0, "first wait up to this long for GET /health/ready (BucketDB) to answer 200")
	flag.Parse()
	var err error
	c.modes = strings.Split(modes, ",")
	if c.sizes, err = parseList(sizes, parseSize); err != nil {
		return c, err
	}
	if c.concurrency, err = parseList(conc, strconv.Atoi); err != nil {
		return c, err
	}
	if c.streamSize, err = parseSize(streamSize); err != nil {
		return c, err
	}
	if c.partSize, err = parseSize(partSize); err != nil {
		return c, err
	}
	if c.accessKey == "" || c.secretKey == "" {
		return c, fmt.Errorf("-access-key and -secret-key are required")
	}
	return c, nil
}

// bench is one run against one endpoint.
type bench struct {
	cfg    config
	client *minio.Client
	core   *minio.Core
	bucket string
	buf    []byte // shared read-only body source
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	u, err := url.Parse(cfg.endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-endpoint %q: want a URL such as http://127.0.0.1:9000", cfg.endpoint)
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.accessKey, cfg.secretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return err
	}
	if cfg.waitReady > 0 {
		if err := waitReady(u, cfg.waitReady); err != nil {
			return err
		}
	}
	b := &bench{cfg: cfg, client: client, core: &minio.Core{Client: client}}
	maxSize := int64(1 << 20)
	for _, s := range cfg.sizes {
		maxSize = max(maxSize, s)
	}
	b.buf = make([]byte, maxSize)
	fillRandom(b.buf)

	ctx := context.Background()
	b.bucket = cfg.bucket
	created := false
	if b.bucket == "" {
		b.bucket = fmt.Sprintf("bench-%d", time.Now().UnixNano())
		if err := client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{Region: cfg.region}); err != nil {
			return fmt.Errorf("create bucket: %w", err)
		}
		created = true
	}
	fmt.Printf("bench: endpoint %s, bucket %s, phases of %v, payload %s\n", cfg.endpoint, b.bucket, cfg.duration,
		map[bool]string{true: "signed", false: "UNSIGNED-PAYLOAD"}[cfg.signPayload])
	if cfg.pid > 0 {
		if rss, err := procStatus(cfg.pid, "VmRSS"); err == nil {
			fmt.Printf("bench: server PID %d, RSS at start %.0f MiB\n", cfg.pid, float64(rss)/(1<<20))
		}
	}
	for _, m := range cfg.modes {
		var err error
		switch strings.TrimSpace(m) {
		case "standard":
			err = b.standard(ctx)
		case "stream":
			err = b.stream(ctx)
		case "versions":
			err = b.versionsMode(ctx)
		case "complete":
			err = b.complete(ctx)
		case "":
		default:
			err = fmt.Errorf("unknown mode %q", m)
		}
		if err != nil {
			return err
		}
	}
	if cfg.pid > 0 {
		if hwm, err := procStatus(cfg.pid, "VmHWM"); err == nil {
			fmt.Printf("bench: server peak RSS over its lifetime (VmHWM): %.0f MiB\n", float64(hwm)/(1<<20))
		}
	}
	if !cfg.keep {
		if err := b.emptyBucket(ctx, b.bucket); err != nil {
			return err
		}
		if created {
			if err := client.RemoveBucket(ctx, b.bucket); err != nil {
				return fmt.Errorf("remove bucket: %w", err)
			}
		}
	}
	return nil
}

// waitReady polls the BucketDB readiness endpoint.
func waitReady(u *url.URL, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(u.Scheme + "://" + u.Host + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", u.Host, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fillRandom(b []byte) {
	// A fast xorshift stream: incompressible enough, no crypto cost.
	x := uint64(time.Now().UnixNano()) | 1
	for i := 0; i+8 <= len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for j := range 8 {
			b[i+j] = byte(x >> (8 * j))
		}
	}
}

// emptyBucket removes every object version and pending upload of bucket.
func (b *bench) emptyBucket(ctx context.Context, bucket string) error {
	objs := make(chan minio.ObjectInfo, 1000)
	go func() {
		defer close(objs)
		for o := range b.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				return
			}
			objs <- o
		}
	}()
	for e := range b.client.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		return fmt.Errorf("cleanup %s: %v", e.ObjectName, e.Err)
	}
	for u := range b.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			break
		}
		b.core.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID)
	}
	return nil
}
