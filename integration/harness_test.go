// Package integration holds BucketDB's end-to-end tests: they build the real
// bucketdb binary once (TestMain), start real server processes on loopback
// ports with temporary data directories, and drive them with real S3 clients
// (minio-go v7 and the AWS SDK for Go v2).
//
// The harness:
//
//   - startServer(t, opts...) starts one node and stops it when the test ends;
//     *Server can Kill (SIGKILL), Stop (SIGTERM, waits) and Start again on the
//     same data directory and ports.
//   - startCluster(t, n, opts...) starts n nodes that gossip with each other
//     (node IDs n1..nN, a shared cluster secret, every node joining the first).
//   - Each server's stdout/stderr is captured and printed when the test fails.
//
// Set BUCKETDB_TEST_BINARY to use a prebuilt binary instead of building one.
package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Fixed credentials the harness gives every server through its environment.
const (
	testAccessKey     = "BUCKETDBTESTACCESS01"
	testSecretKey     = "bucketdb-test-secret-key-0123456789abcdef"
	testClusterSecret = "bucketdb-test-cluster-secret-0123456789"
	testRegion        = "us-east-1"
)

// Bounds on how long the harness waits for a server.
const (
	readyTimeout = 45 * time.Second
	stopTimeout  = 30 * time.Second
)

// binPath is the bucketdb binary that TestMain built (or BUCKETDB_TEST_BINARY).
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if p := os.Getenv("BUCKETDB_TEST_BINARY"); p != "" {
		binPath = p
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "bucketdb-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "bucketdb")
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/bucketdb")
	cmd.Dir = ".." // the module root: this package lives in integration/
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: building bucketdb:", err)
		return 1
	}
	return m.Run()
}

// serverConfig is what ServerOptions adjust.
type serverConfig struct {
	args      []string // extra flags after the harness's own
	env       []string // extra KEY=VALUE entries
	noCreds   bool     // leave BUCKETDB_ACCESS_KEY/SECRET_KEY unset
	accessKey string
	secretKey string
	noWait    bool // do not wait for /health/ready in startServer
	nodeArgs  map[int][]string
}

// ServerOption adjusts how startServer / startCluster launch a node.
type ServerOption func(*serverConfig)

// WithArgs appends extra command-line flags to `bucketdb server`.
func WithArgs(args ...string) ServerOption {
	return func(c *serverConfig) { c.args = append(c.args, args...) }
}

// WithEnv adds environment entries ("KEY=VALUE") to the server process.
func WithEnv(kv ...string) ServerOption {
	return func(c *serverConfig) { c.env = append(c.env, kv...) }
}

// WithCredentials replaces the harness's fixed test credentials.
func WithCredentials(accessKey, secretKey string) ServerOption {
	return func(c *serverConfig) { c.accessKey, c.secretKey = accessKey, secretKey }
}

// WithoutCredentials starts the server with no credentials in its
// environment, so it has to generate (or reload) its own.
func WithoutCredentials() ServerOption {
	return func(c *serverConfig) { c.noCreds = true }
}

// WithoutWait makes startServer return as soon as the process started,
// without waiting for /health/ready.
func WithoutWait() ServerOption {
	return func(c *serverConfig) { c.noWait = true }
}

// WithNodeArgs appends extra flags to node i (1-based) of a cluster only.
func WithNodeArgs(i int, args ...string) ServerOption {
	return func(c *serverConfig) {
		if c.nodeArgs == nil {
			c.nodeArgs = map[int][]string{}
		}
		c.nodeArgs[i] = append(c.nodeArgs[i], args...)
	}
}

// Server is one running (or stopped) bucketdb server process.
type Server struct {
	Endpoint  string // host:port of the S3 API
	URL       string // "http://" + Endpoint
	DataDir   string
	AccessKey string
	SecretKey string

	// Cluster fields; empty for a plain single node.
	NodeID     string
	GossipAddr string

	t    testing.TB
	args []string
	env  []string
	log  *logBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error
}

// startServer starts one node on free loopback ports with a fresh data
// directory, waits until /health/ready answers 200 and stops it when the test
// ends.
func startServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	cfg := serverConfig{accessKey: testAccessKey, secretKey: testSecretKey}
	for _, o := range opts {
		o(&cfg)
	}
	s := newServer(t, cfg, t.TempDir(), freePort(t, false), nil)
	s.launch()
	if !cfg.noWait {
		s.waitReady(readyTimeout)
	}
	return s
}

func newServer(t testing.TB, cfg serverConfig, dataDir, endpoint string, clusterArgs []string) *Server {
	s := &Server{
		Endpoint: endpoint,
		URL:      "http://" + endpoint,
		DataDir:  dataDir,
		t:        t,
		log:      &logBuffer{},
	}
	s.args = append([]string{"server", "--data", dataDir, "--listen", endpoint}, clusterArgs...)
	s.args = append(s.args, cfg.args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BUCKETDB_") {
			s.env = append(s.env, kv)
		}
	}
	if !cfg.noCreds {
		s.AccessKey, s.SecretKey = cfg.accessKey, cfg.secretKey
		s.env = append(s.env, "BUCKETDB_ACCESS_KEY="+cfg.accessKey, "BUCKETDB_SECRET_KEY="+cfg.secretKey)
	}
	s.env = append(s.env, cfg.env...)
	t.Cleanup(s.cleanup)
	return s
}

// launch starts the process; the caller waits for readiness.
func (s *Server) launch() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("server %s: already running", s.Endpoint)
	}
	cmd := exec.Command(binPath, s.args...)
	cmd.Env = s.env
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	// Do not outlive the test binary if it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(s.log, "=== harness: starting %s %s\n", binPath, strings.Join(s.args, " "))
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("server %s: start: %v", s.Endpoint, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		fmt.Fprintf(s.log, "=== harness: process exited: %v\n", err)
		close(done)
	}()
}

// running reports the current process's exit channel, or nil if none runs.
func (s *Server) current() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.done
}

// waitReady polls GET /health/ready until it answers 200; it fails the test
// with the server's log on timeout or when the process exits early.
func (s *Server) waitReady(timeout time.Duration) {
	s.t.Helper()
	if err := s.pollReady(timeout); err != nil {
		s.t.Fatalf("server %s: %v\n--- server log ---\n%s", s.Endpoint, err, s.log.String())
	}
}

func (s *Server) pollReady(timeout time.Duration) error {
	_, done := s.current()
	if done == nil {
		return errors.New("not running")
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("process exited before it was ready: %v", s.exitErr())
		default:
		}
		resp, err := hc.Get(s.URL + "/health/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v (last: %s)", timeout, last)
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill() {
	s.t.Helper()
	cmd, done := s.current()
	if cmd == nil {
		s.t.Fatalf("server %s: Kill: not running", s.Endpoint)
	}
	fmt.Fprintf(s.log, "=== harness: SIGKILL\n")
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	s.mu.Lock()
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
}

// Stop sends SIGTERM and waits (bounded) for a clean exit; a non-zero exit
// status or a hang fails the test.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Errorf("server %s: Stop: %v\n--- server log ---\n%s", s.Endpoint, err, s.log.String())
	}
}

func (s *Server) stop() error {
	cmd, done := s.current()
	if cmd == nil {
		return errors.New("not running")
	}
	fmt.Fprintf(s.log, "=== harness: SIGTERM\n")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-done:
		err = s.exitErr()
		if err != nil {
			err = fmt.Errorf("graceful shutdown exited with %v", err)
		}
	case <-time.After(stopTimeout):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		err = fmt.Errorf("no exit within %v of SIGTERM (killed)", stopTimeout)
	}
	s.mu.Lock()
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	return err
}

// Start restarts a stopped or killed server on the same data directory and
// ports, and waits until it is ready.
func (s *Server) Start() {
	s.t.Helper()
	s.launch()
	s.waitReady(readyTimeout)
}

// Running reports whether the process is up (started and not yet exited).
func (s *Server) Running() bool {
	_, done := s.current()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// PID is the current process's ID (0 when not running).
func (s *Server) PID() int {
	cmd, _ := s.current()
	if cmd == nil {
		return 0
	}
	return cmd.Process.Pid
}

// Log returns everything the server wrote to stdout/stderr so far.
func (s *Server) Log() string { return s.log.String() }

func (s *Server) cleanup() {
	if s.Running() {
		if err := s.stop(); err != nil {
			s.t.Errorf("server %s: stopping at cleanup: %v", s.Endpoint, err)
		}
	}
	if s.t.Failed() {
		s.t.Logf("--- log of server %s %s ---\n%s", s.NodeID, s.Endpoint, s.log.String())
	}
}

// Client returns a minio-go client for this server (path-style, no TLS).
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	return s.ClientWith(t, s.AccessKey, s.SecretKey)
}

// ClientWith returns a minio-go client with the given credentials.
func (s *Server) ClientWith(t testing.TB, accessKey, secretKey string) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:       false,
		Region:       testRegion,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return c
}

// Core returns the low-level minio-go API for this server.
func (s *Server) Core(t testing.TB) *minio.Core {
	t.Helper()
	return &minio.Core{Client: s.Client(t)}
}

// startCluster starts n nodes (IDs n1..nN) with gossip ports, the test
// cluster secret, each node joining the first, and waits until every node is
// ready and the cluster accepts writes through every node.
func startCluster(t testing.TB, n int, opts ...ServerOption) []*Server {
	t.Helper()
	cfg := serverConfig{accessKey: testAccessKey, secretKey: testSecretKey}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.env = append([]string{"BUCKETDB_CLUSTER_SECRET=" + testClusterSecret}, cfg.env...)
	replicas := min(3, n)
	nodes := make([]*Server, n)
	for i := range n {
		gossip := freePort(t, true)
		clusterArgs := []string{
			"--node-id", fmt.Sprintf("n%d", i+1),
			"--gossip", gossip,
			"--replicas", strconv.Itoa(replicas),
		}
		if i > 0 {
			clusterArgs = append(clusterArgs, "--join", nodes[0].GossipAddr)
		}
		clusterArgs = append(clusterArgs, cfg.nodeArgs[i+1]...)
		nodes[i] = newServer(t, cfg, t.TempDir(), freePort(t, false), clusterArgs)
		nodes[i].NodeID = fmt.Sprintf("n%d", i+1)
		nodes[i].GossipAddr = gossip
	}
	nodes[0].launch()
	nodes[0].waitReady(readyTimeout)
	for _, s := range nodes[1:] {
		s.launch()
	}
	for _, s := range nodes[1:] {
		s.waitReady(readyTimeout)
	}
	waitClusterFormed(t, nodes)
	return nodes
}

// aliveMembers, when set (cluster_test.go sets it), reports how many members
// a node sees alive through its admin endpoint.
var aliveMembers func(ctx context.Context, s *Server) (int, error)

// waitClusterFormed waits until every node sees every member alive (when the
// admin endpoint can tell) and can write an object that every other node
// reads back: membership converged far enough for quorum writes and reads
// through any node.
func waitClusterFormed(t testing.TB, nodes []*Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if aliveMembers != nil {
		for _, s := range nodes {
			err := retry(ctx, func() error {
				n, err := aliveMembers(ctx, s)
				if err == nil && n != len(nodes) {
					err = fmt.Errorf("%d of %d members alive", n, len(nodes))
				}
				return err
			})
			if err != nil {
				t.Fatalf("cluster: node %s does not see the cluster: %v%s", s.NodeID, err, clusterLogs(nodes))
			}
		}
	}
	c0 := nodes[0].Client(t)
	bucket := "harness-probe-" + strings.ToLower(randomName(8))
	if err := retry(ctx, func() error { return c0.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}) }); err != nil {
		t.Fatalf("cluster: creating probe bucket through %s: %v%s", nodes[0].NodeID, err, clusterLogs(nodes))
	}
	for i, s := range nodes {
		key := "probe-" + s.NodeID
		body := []byte("written through " + s.NodeID)
		c := s.Client(t)
		err := retry(ctx, func() error {
			_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("cluster: probe write through node %d (%s): %v%s", i+1, s.NodeID, err, clusterLogs(nodes))
		}
		for _, r := range nodes {
			rc := r.Client(t)
			err := retry(ctx, func() error {
				got, err := getBytes(ctx, rc, bucket, key, minio.GetObjectOptions{})
				if err != nil {
					return err
				}
				if !bytes.Equal(got, body) {
					return fmt.Errorf("read %q", got)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("cluster: probe written through %s not readable through %s: %v%s", s.NodeID, r.NodeID, err, clusterLogs(nodes))
			}
		}
	}
	for _, s := range nodes {
		if err := retry(ctx, func() error {
			return c0.RemoveObject(ctx, bucket, "probe-"+s.NodeID, minio.RemoveObjectOptions{})
		}); err != nil {
			t.Fatalf("cluster: removing probe object: %v", err)
		}
	}
	if err := retry(ctx, func() error { return c0.RemoveBucket(ctx, bucket) }); err != nil {
		t.Fatalf("cluster: removing probe bucket: %v", err)
	}
}

func clusterLogs(nodes []*Server) string {
	var b strings.Builder
	for _, s := range nodes {
		fmt.Fprintf(&b, "\n--- log of %s (%s) ---\n%s", s.NodeID, s.Endpoint, s.log.String())
	}
	return b.String()
}

// retry calls f every 200ms until it succeeds or ctx ends; it returns the
// last error.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// handedOut holds every port freePort returned, so it never returns one
// twice: a port is free again once freePort's probe closes it, and the
// kernel may give it to the next probe before the first server binds it
// (a cluster's ports are all chosen before its nodes start).
var handedOut struct {
	sync.Mutex
	ports map[string]bool
}

// freePort returns a loopback host:port that is free right now (for TCP, and
// for UDP too when udp is set, as memberlist binds both) and that no earlier
// call returned.
func freePort(t testing.TB, udp bool) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[string]bool{}
	}
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		addr := l.Addr().String()
		if handedOut.ports[addr] {
			l.Close()
			continue
		}
		if udp {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				l.Close()
				continue
			}
			pc.Close()
		}
		l.Close()
		handedOut.ports[addr] = true
		return addr
	}
	t.Fatalf("free port: none found")
	return ""
}

// logBuffer collects a process's output; safe for concurrent writes. It keeps
// the first and the last megabyte when the output grows past that.
type logBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte
	dropped int64
}

const logKeep = 1 << 20

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(b.head) < logKeep {
		k := min(logKeep-len(b.head), len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.tail = append(b.tail, p...)
	if len(b.tail) > 2*logKeep {
		cut := len(b.tail) - logKeep
		b.dropped += int64(cut)
		b.tail = append([]byte(nil), b.tail[cut:]...)
	}
	return n, nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == 0 {
		return string(b.head) + string(b.tail)
	}
	return fmt.Sprintf("%s\n... [%d bytes dropped] ...\n%s", b.head, b.dropped, b.tail)
}

// randomBytes returns n pseudo-random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(rand.Uint32())})
	_, _ = r.Read(b)
	return b
}

// randomName returns n random lower-case letters and digits.
func randomName(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// md5hex is the hex MD5 of b (the ETag of a single-part upload).
func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// newBucket creates a bucket with a unique valid name derived from the test
// name and returns the name.
func newBucket(t testing.TB, c *minio.Client) string {
	t.Helper()
	name := bucketName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: testRegion}); err != nil {
		t.Fatalf("MakeBucket %q: %v", name, err)
	}
	return name
}

// bucketName turns a test name into a unique valid S3 bucket name.
func bucketName(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.TrimRight(b.String(), "-")
	if len(base) > 45 {
		base = strings.TrimRight(base[len(base)-45:], "-")
		base = strings.TrimLeft(base, "-")
	}
	if base == "" {
		base = "t"
	}
	return base + "-" + randomName(10)
}

// getBytes reads a whole object.
func getBytes(ctx context.Context, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	obj, err := c.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// putBytes writes a whole object and fails the test on error.
func putBytes(t testing.TB, c *minio.Client, bucket, key string, body []byte, opts minio.PutObjectOptions) minio.UploadInfo {
	t.Helper()
	info, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return info
}

// mustGet reads a whole object and fails the test on error.
func mustGet(t testing.TB, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	b, err := getBytes(context.Background(), c, bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	return b
}

// errCode returns the S3 error code of err ("" when it carries none).
func errCode(err error) string {
	return minio.ToErrorResponse(err).Code
}

// wantCode fails the test unless err is an S3 error with the given code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := errCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %s", err, got, code)
	}
}

// dirSize sums the sizes of the regular files under dir, and counts them.
func dirSize(t testing.TB, dir string) (bytes int64, files int) {
	t.Helper()
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking
			}
			return err
		}
		if info.Mode().IsRegular() {
			bytes += info.Size()
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return bytes, files
}
