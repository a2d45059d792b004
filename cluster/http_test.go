package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// freePort returns a loopback address nobody listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startHTTPNode runs a node with the real HTTP transport and gossip on
// loopback.
func startHTTPNode(t testing.TB, id, secret string, join []string) (*Node, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	var nd *Node
	var once sync.Once
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { h = nd.Handler() })
		h.ServeHTTP(w, r)
	}))
	cfg := DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.Secret = id, filepath.Join(dir, "cluster"), secret
	cfg.S3Addr = srv.Listener.Addr().String()
	cfg.GossipAddr = freePort(t)
	cfg.Join = join
	cfg.HealInterval = -1
	var err error
	nd, err = New(cfg, st)
	if err != nil {
		srv.Close()
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nd.Close()
		srv.Close()
		st.Close()
	})
	return nd, srv
}

func TestSingleNodeHTTP(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	defer st.Close()
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "cluster")
	nd, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	ctx := context.Background()
	if err := nd.CreateBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	put(t, nd, "b", "k", "v")
	mustGet(t, nd, "b", "k", "v")
	s := nd.Status(ctx)
	if len(s.Members) != 1 || s.Replicas != 1 || s.Members[0].State != Alive {
		t.Fatalf("status %+v", s)
	}
	// The RPC refuses unsigned requests.
	srv := httptest.NewServer(nd.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+rpcPrefix+"stats", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned RPC: %s", resp.Status)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 10*time.Second, what, cond)
}

// waitWithin is waitFor with its own deadline.
func waitWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHTTPCluster runs three nodes over real sockets: gossip join, quorum
// writes through each node, wire errors, and a node with another secret
// that cannot join.
func TestHTTPCluster(t *testing.T) {
	ctx := context.Background()
	a, _ := startHTTPNode(t, "a", "s3cret", nil)
	seed := []string{a.cfg.GossipAddr}
	b, _ := startHTTPNode(t, "b", "s3cret", seed)
	c, _ := startHTTPNode(t, "c", "s3cret", seed)
	nodes := []*Node{a, b, c}
	waitFor(t, "membership", func() bool {
		for _, nd := range nodes {
			s := nd.Status(ctx)
			if len(s.Members) != 3 || s.Replicas != 3 {
				return false
			}
			for _, m := range s.Members {
				if m.State != Alive {
					return false
				}
			}
		}
		return true
	})
	if err := b.CreateBucket(ctx, "bk"); err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes {
		put(t, nd, "bk", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	for _, nd := range nodes {
		for i := range nodes {
			mustGet(t, nd, "bk", fmt.Sprint("k", i), fmt.Sprint("v", i))
		}
	}
	// Multipart through the wire: parts to every replica, completion, a
	// part read back through another node.
	up, err := a.CreateMultipartUpload(ctx, "bk", "mp", store.ObjectMeta{UserMeta: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	var parts []store.CompletePart
	for i, body := range []string{strings.Repeat("p", 5<<20), "last"} {
		pi, err := b.UploadPart(ctx, "bk", "mp", up.UploadID, i+1, strings.NewReader(body), int64(len(body)), store.PartOptions{
			ChecksumsFunc: func() map[string]string { return map[string]string{"crc32": "AAAAAA=="} }})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, store.CompletePart{Number: i + 1, ETag: pi.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, "bk", "mp", up.UploadID, parts, store.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := get(t, a, "bk", "mp", store.GetOptions{PartNumber: 2}); err != nil || got != "last" {
		t.Fatalf("part 2 over the wire: %q %v", got, err)
	}
	if _, _, err := get(t, c, "bk", "missing", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("missing key through the wire: %v", err)
	}
	// The admin endpoints, signed with the secret.
	req, _ := http.NewRequest(http.MethodGet, "http://"+c.cfg.S3Addr+AdminStatusPath, nil)
	SignAdminRequest(req, "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st ClusterStatus
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(st.Members) != 3 || st.Self != "c" {
		t.Fatalf("admin status %s: %+v %v", resp.Status, st, err)
	}
	var objects int64
	for _, m := range st.Members {
		objects += m.Objects
	}
	if objects != 12 {
		t.Fatalf("status counts %d objects, want 4 keys x 3 replicas", objects)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://"+c.cfg.S3Addr+AdminStatusPath, nil)
	SignAdminRequest(req, "wrong")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status with a wrong secret: %s", resp.Status)
	}
	// Another secret cannot join.
	dir := t.TempDir()
	xst := openStore(t, filepath.Join(dir, "store"))
	defer xst.Close()
	cfg := DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.Secret = "x", filepath.Join(dir, "cluster"), "other"
	cfg.GossipAddr, cfg.Join, cfg.HealInterval = freePort(t), seed, -1
	if x, err := New(cfg, xst); err == nil {
		x.Close()
		t.Fatal("a node with another secret joined")
	}
}

// TestHTTPJoinAndRemove: a fourth node joins over gossip and takes its
// share; then one node is removed through the admin endpoint, drains and
// leaves; every key ends with three replicas and stays readable.
func TestHTTPJoinAndRemove(t *testing.T) {
	ctx := context.Background()
	a, _ := startHTTPNode(t, "a", "s3cret", nil)
	seed := []string{a.cfg.GossipAddr}
	b, _ := startHTTPNode(t, "b", "s3cret", seed)
	c, _ := startHTTPNode(t, "c", "s3cret", seed)
	if err := a.CreateBucket(ctx, "bk"); err != nil {
		t.Fatal(err)
	}
	const keys = 30
	for i := range keys {
		put(t, []*Node{a, b, c}[i%3], "bk", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	d, _ := startHTTPNode(t, "d", "s3cret", seed)
	nodes := []*Node{a, b, c, d}
	waitFor(t, "four members everywhere", func() bool {
		for _, nd := range nodes {
			if len(nd.activeMembers()) != 4 {
				return false
			}
		}
		return true
	})
	passes := func() {
		for _, nd := range nodes {
			if err := nd.HealNow(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	replicas := func() map[string]int {
		count := map[string]int{}
		for _, nd := range nodes {
			r, err := nd.st.ListObjectVersions(ctx, "bk", store.ListVersionsOptions{MaxKeys: 1000})
			if errors.Is(err, store.ErrNoSuchBucket) {
				continue // not repaired yet: its keys are missing from the counts
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range r.Versions {
				count[v.Key]++
			}
		}
		return count
	}
	// Healing converges: a pass can miss a peer that is still settling
	// (under load its RPC may time out), so passes repeat until every key
	// has three replicas, then two more run before the checks.
	heal := func() {
		// Under a loaded machine a pass can take seconds: allow several.
		// On a timeout, say what is left and what each node's heal state
		// is, so that a slow convergence can be told from a stuck one.
		deadline := time.Now().Add(60 * time.Second)
		for round := 1; ; round++ {
			passes()
			c := replicas()
			var off []string
			for k, n := range c {
				if n != 3 {
					off = append(off, fmt.Sprintf("%s:%d", k, n))
				}
			}
			if len(off) == 0 && len(c) == keys {
				break
			}
			if time.Now().After(deadline) {
				var states []string
				for _, nd := range nodes {
					states = append(states, fmt.Sprintf("%s{backlog %d retry %v passes %d members %v}", nd.id,
						nd.heal.backlog.Load(), nd.heal.retry.Load(), nd.heal.passes.Load(), nd.reg.list()))
				}
				t.Fatalf("after %d rounds of passes, %d keys of %d listed, not on three replicas: %v; nodes: %v",
					round, len(c), keys, off, states)
			}
		}
		passes()
		passes()
	}
	heal()
	for k, n := range replicas() {
		if n != 3 {
			t.Fatalf("after join %s has %d replicas", k, n)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.cfg.S3Addr+AdminRemovePath+"?node=b", nil)
	SignAdminRequest(req, "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("admin remove: %s", resp.Status)
	}
	waitFor(t, "b learns it is leaving", func() bool { m, _ := b.reg.get("b"); return m.State != stateActive })
	for i := range keys {
		mustGet(t, c, "bk", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	heal()
	if m, _ := a.reg.get("b"); m.State != stateRemoved {
		t.Fatalf("b is %s after draining", m.State)
	}
	count := replicas()
	if len(count) != keys {
		t.Fatalf("%d keys left", len(count))
	}
	for k, n := range count {
		if n != 3 {
			t.Fatalf("after removal %s has %d replicas", k, n)
		}
	}
	for _, nd := range []*Node{a, c, d} {
		for i := range keys {
			mustGet(t, nd, "bk", fmt.Sprint("k", i), fmt.Sprint("v", i))
		}
	}
	waitFor(t, "b shown as removed and gone", func() bool {
		for _, m := range a.Status(ctx).Members {
			if m.ID == "b" {
				return m.Lifecycle == stateRemoved && m.State == Dead
			}
		}
		return false
	})
}
