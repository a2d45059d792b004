package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Operations: health probes, metrics, request IDs across nodes, the disk
// guard, garbage collection and scrub, all through the real binary.

// httpGet fetches url without credentials.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// admin runs `bucketdb admin ARGS --endpoint s.URL` with the server's
// credentials and returns its stdout.
func admin(t testing.TB, s *Server, args ...string) []byte {
	t.Helper()
	args = append([]string{"admin"}, args...)
	args = append(args, "--endpoint", s.URL)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "BUCKETDB_ACCESS_KEY="+s.AccessKey, "BUCKETDB_SECRET_KEY="+s.SecretKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bucketdb %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// metricValue returns the value of one sample line ("name{labels}") of a
// scrape, 0 if absent.
func metricValue(t testing.TB, s *Server, sample string) float64 {
	t.Helper()
	code, body := httpGet(t, s.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q", sample, v)
			}
			return f
		}
	}
	return 0
}

func TestOpsHealthAndMetrics(t *testing.T) {
	s := startServer(t)
	if code, body := httpGet(t, s.URL+"/health/live"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("live: %d %q", code, body)
	}
	if code, body := httpGet(t, s.URL+"/health/ready"); code != 200 {
		t.Fatalf("ready: %d %q", code, body)
	}
	code, body := httpGet(t, s.URL+"/health")
	var doc struct {
		NodeID  string `json:"node_id"`
		Version string `json:"version"`
		Ready   bool   `json:"ready"`
		Store   string `json:"store"`
		Disk    struct {
			Total, Free int64 `json:"-"`
			TotalBytes  int64 `json:"total_bytes"`
			FreeBytes   int64 `json:"free_bytes"`
		} `json:"disk"`
		Members []struct{ ID, State string } `json:"members"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("/health: %d %v %s", code, err, body)
	}
	if doc.NodeID == "" || !doc.Ready || doc.Store != "open" || doc.Disk.TotalBytes <= 0 ||
		doc.Disk.FreeBytes <= 0 || len(doc.Members) != 1 || doc.Members[0].State != "alive" {
		t.Fatalf("/health document: %s", body)
	}

	const putOK = `bucketdb_s3_requests_total{operation="PutObject",status="200"}`
	const getMiss = `bucketdb_s3_requests_total{operation="GetObject",status="404"}`
	const in = `bucketdb_s3_received_bytes_total{operation="PutObject"}`
	const commits, batches, busy = "bucketdb_store_commits_total", "bucketdb_store_commit_batches_total",
		"bucketdb_store_commit_busy_seconds_total"
	puts0, miss0, in0 := metricValue(t, s, putOK), metricValue(t, s, getMiss), metricValue(t, s, in)
	commits0, batches0, busy0 := metricValue(t, s, commits), metricValue(t, s, batches), metricValue(t, s, busy)
	c := s.Client(t)
	bucket := newBucket(t, c)
	for i := range 5 {
		putBytes(t, c, bucket, fmt.Sprintf("k%d", i), randomBytes(1000), minio.PutObjectOptions{})
	}
	_, err := getBytes(context.Background(), c, bucket, "missing", minio.GetObjectOptions{})
	wantCode(t, err, "NoSuchKey")
	if d := metricValue(t, s, putOK) - puts0; d != 5 {
		t.Errorf("PutObject 200 counter moved by %v, want 5", d)
	}
	if d := metricValue(t, s, getMiss) - miss0; d != 1 {
		t.Errorf("GetObject 404 counter moved by %v, want 1", d)
	}
	if d := metricValue(t, s, in) - in0; d != 5000 {
		t.Errorf("PutObject bytes in moved by %v, want 5000", d)
	}
	// Each put is a version commit; the batches that carried them took time.
	dc, db := metricValue(t, s, commits)-commits0, metricValue(t, s, batches)-batches0
	if dc < 5 || db < 1 || db > dc || metricValue(t, s, busy) <= busy0 {
		t.Errorf("group commit counters moved by %v commits in %v batches, busy %v -> %v", dc, db, busy0, metricValue(t, s, busy))
	}
	if v := metricValue(t, s, `bucketdb_s3_request_duration_seconds_count{operation="PutObject"}`); v < 5 {
		t.Errorf("latency histogram count %v", v)
	}
	if v := metricValue(t, s, `bucketdb_cluster_members{state="alive"}`); v != 1 {
		t.Errorf("alive members %v, want 1", v)
	}
}

func TestOpsMetricsAndHealthAuth(t *testing.T) {
	s := startServer(t, WithArgs("--metrics-auth", "--health-auth"))
	if code, _ := httpGet(t, s.URL+"/metrics"); code != http.StatusForbidden {
		t.Errorf("unsigned /metrics with --metrics-auth: %d, want 403", code)
	}
	if code, _ := httpGet(t, s.URL+"/health"); code != http.StatusForbidden {
		t.Errorf("unsigned /health with --health-auth: %d, want 403", code)
	}
	if code, _ := httpGet(t, s.URL+"/health/ready"); code != 200 {
		t.Errorf("ready must never need credentials: %d", code)
	}
	var st struct {
		Node    struct{ Ready bool } `json:"node"`
		Cluster struct{ Self string }
	}
	if err := json.Unmarshal(admin(t, s, "status"), &st); err != nil || !st.Node.Ready || st.Cluster.Self == "" {
		t.Fatalf("admin status: %+v %v", st, err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(admin(t, s, "config"), &cfg); err != nil || cfg["metrics_auth"] != true {
		t.Fatalf("admin config: %v %v", cfg, err)
	}
}

// TestOpsPprof: --pprof serves Go's profiles on their own listener, and
// only there.
func TestOpsPprof(t *testing.T) {
	addr := freePort(t, false)
	s := startServer(t, WithArgs("--pprof", addr))
	code, body := httpGet(t, "http://"+addr+"/debug/pprof/cmdline")
	if code != 200 || !strings.Contains(body, "server") || !strings.Contains(body, addr) {
		t.Fatalf("pprof cmdline: %d %q", code, body)
	}
	if code, body := httpGet(t, "http://"+addr+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("pprof goroutines: %d %.200s", code, body)
	}
	if code, body := httpGet(t, s.URL+"/debug/pprof/cmdline"); code == 200 && strings.Contains(body, addr) {
		t.Fatalf("the S3 port serves profiles: %q", body)
	}
}

// TestOpsRequestIDAcrossNodes follows one PUT's request ID from the
// response to the logs of the coordinator and of the two other replicas.
func TestOpsRequestIDAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	c := nodes[0].Client(t)
	bucket := newBucket(t, c)
	u, err := c.PresignedPutObject(ctx, bucket, "traced", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("follow me"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Amz-Request-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("presigned PUT: %s, request ID %q", resp.Status, id)
	}
	want := "request_id=" + id
	// Each line is written once its request finished, possibly just after
	// the client got the response: poll.
	for _, n := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(n.Log(), want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(n.Log(), want) {
			t.Errorf("log of %s lacks %s%s", n.NodeID, want, clusterLogs(nodes))
		}
	}
}

// waitReady polls /health/ready until it answers want.
func waitProbe(t testing.TB, s *Server, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = httpGet(t, s.URL+"/health/ready"); code == want {
			return body
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s /health/ready stayed %d %q, want %d", s.NodeID, code, body, want)
	return ""
}

func TestOpsReadinessFollowsQuorum(t *testing.T) {
	nodes := startCluster(t, 3)
	waitProbe(t, nodes[0], 200, 10*time.Second)
	nodes[2].Kill()
	// One of three down: W=2 of N=3 is still reachable.
	time.Sleep(3 * time.Second)
	waitProbe(t, nodes[0], 200, 10*time.Second)
	nodes[1].Kill()
	body := waitProbe(t, nodes[0], 503, 30*time.Second)
	if !strings.Contains(body, "quorum") {
		t.Errorf("503 body %q does not give the reason", body)
	}
	if code, _ := httpGet(t, nodes[0].URL+"/health/live"); code != 200 {
		t.Errorf("live while quorum lost: %d", code)
	}
	nodes[1].Start()
	waitProbe(t, nodes[0], 200, 45*time.Second)
}

func TestOpsDiskGuard(t *testing.T) {
	s := startServer(t, WithArgs("--test-no-sync"))
	ctx := context.Background()
	c := s.Client(t)
	bucket := newBucket(t, c)
	kept := randomBytes(300 << 10)
	putBytes(t, c, bucket, "kept", kept, minio.PutObjectOptions{})
	s.Stop()
	s.args = append(s.args, "--min-free-disk", "1000TiB") // larger than any disk here
	s.Start()

	_, err := c.PutObject(ctx, bucket, "new", bytes.NewReader(randomBytes(1000)), 1000, minio.PutObjectOptions{})
	wantCode(t, err, "InsufficientStorage")
	_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "copy"}, minio.CopySrcOptions{Bucket: bucket, Object: "kept"})
	wantCode(t, err, "InsufficientStorage")
	core := s.Core(t)
	up, err := core.NewMultipartUpload(ctx, bucket, "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("creating an upload writes metadata only: %v", err)
	}
	_, err = core.PutObjectPart(ctx, bucket, "mp", up, 1, bytes.NewReader(randomBytes(1000)), 1000, minio.PutObjectPartOptions{})
	wantCode(t, err, "InsufficientStorage")

	if got := mustGet(t, c, bucket, "kept", minio.GetObjectOptions{}); !bytes.Equal(got, kept) {
		t.Fatal("existing object changed under the floor")
	}
	if code, _ := httpGet(t, s.URL+"/health/ready"); code != 200 {
		t.Errorf("a node that still serves reads stays ready: %d", code)
	}
	_, body := httpGet(t, s.URL+"/health")
	if !strings.Contains(body, `"writes_allowed": false`) {
		t.Errorf("/health does not show writes refused: %s", body)
	}
}

func TestOpsGCReclaimsSpace(t *testing.T) {
	s := startServer(t, WithArgs("--test-no-sync", "--gc-interval", "0"))
	ctx := context.Background()
	c := s.Client(t)
	bucket := newBucket(t, c)
	before, _ := dirSize(t, s.DataDir)

	const n, size = 16, 64 << 20
	body := randomBytes(size)
	for i := range n {
		body[0] = byte(i) // distinct objects, one buffer
		if _, err := c.PutObject(ctx, bucket, fmt.Sprintf("big-%02d", i), bytes.NewReader(body), size,
			minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	full, _ := dirSize(t, s.DataDir)
	if full-before < n*size {
		t.Fatalf("data dir grew by %d bytes for %d bytes written", full-before, n*size)
	}
	for i := range n {
		if err := c.RemoveObject(ctx, bucket, fmt.Sprintf("big-%02d", i), minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var gc struct{ Reclaimed, OrphanBytes int64 }
	if err := json.Unmarshal(admin(t, s, "gc"), &gc); err != nil {
		t.Fatal(err)
	}
	after, files := dirSize(t, s.DataDir)
	t.Logf("data dir: %d bytes before, %d after writing %d x %d MiB, %d (%d files) after delete + GC (GC reported %d reclaimed)",
		before, full, n, size>>20, after, files, gc.Reclaimed)
	if after > before+16<<20 {
		t.Fatalf("data dir %d bytes after GC, started at %d: not reclaimed", after, before)
	}
	if v := metricValue(t, s, "bucketdb_gc_runs_total"); v < 1 {
		t.Errorf("bucketdb_gc_runs_total = %v after an admin gc", v)
	}
	_, h := httpGet(t, s.URL+"/health")
	if !strings.Contains(h, `"last_gc"`) {
		t.Errorf("/health lacks last_gc: %s", h)
	}
}

// dataFilePaths lists the object data files under a node's data directory.
func dataFilePaths(t testing.TB, s *Server) []string {
	t.Helper()
	var out []string
	re := regexp.MustCompile(`^[0-9a-f]{16,}$`)
	filepath.WalkDir(filepath.Join(s.DataDir, "store", "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && re.MatchString(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestOpsScrubRepairsFlippedByte(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	c := nodes[0].Client(t)
	bucket := newBucket(t, c)
	body := randomBytes(512 << 10) // beyond the inline threshold: a data file
	putBytes(t, c, bucket, "precious", body, minio.PutObjectOptions{})

	var files []string
	deadline := time.Now().Add(20 * time.Second)
	for len(files) != 1 && time.Now().Before(deadline) {
		files = dataFilePaths(t, nodes[0])
		time.Sleep(100 * time.Millisecond)
	}
	if len(files) != 1 {
		t.Fatalf("want one data file on %s, got %v", nodes[0].NodeID, files)
	}
	f, err := os.OpenFile(files[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, 4096)
	b[0] ^= 0x01
	f.WriteAt(b, 4096)
	f.Close()

	type report struct {
		Versions int64
		Bad      []struct {
			Bucket, Key, Error, RepairedFrom, RepairError string
			Repaired                                      bool
		}
	}
	var rep report
	if err := json.Unmarshal(admin(t, nodes[0], "scrub"), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 1 || rep.Bad[0].Key != "precious" || !rep.Bad[0].Repaired {
		t.Fatalf("scrub report %+v, want precious found and repaired", rep)
	}
	t.Logf("scrub: %d versions checked; found %q (%s), repaired from %s", rep.Versions, rep.Bad[0].Key,
		rep.Bad[0].Error, rep.Bad[0].RepairedFrom)
	rep = report{}
	if err := json.Unmarshal(admin(t, nodes[0], "scrub"), &rep); err != nil || len(rep.Bad) != 0 {
		t.Fatalf("second scrub: %+v %v", rep, err)
	}
	if got := mustGet(t, c, bucket, "precious", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Fatal("object differs after repair")
	}
	if v := metricValue(t, nodes[0], "bucketdb_scrub_repairs_total"); v != 1 {
		t.Errorf("bucketdb_scrub_repairs_total = %v, want 1", v)
	}
	_ = ctx
}
