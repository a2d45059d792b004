package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/cluster"
	"github.com/minio/minio-go/v7"
)

func init() { aliveMembers = adminAlive }

// adminStatus fetches a node's view of the cluster from its admin endpoint
// (authenticated with the cluster secret).
func adminStatus(ctx context.Context, s *Server, secret string) (cluster.ClusterStatus, int, error) {
	var st cluster.ClusterStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/_bucketdb/admin/status", nil)
	if err != nil {
		return st, 0, err
	}
	if secret != "" {
		cluster.SignAdminRequest(req, secret)
	}
	resp, err := rawHTTP.Do(req)
	if err != nil {
		return st, 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return st, resp.StatusCode, fmt.Errorf("admin status: %s: %s", resp.Status, body)
	}
	return st, resp.StatusCode, json.Unmarshal(body, &st)
}

// waitMembers retries until every member, as every node's admin status
// shows it, passes check (which describes what is wrong, or returns "").
// It returns the last complaint if ctx ends first.
func waitMembers(ctx context.Context, nodes []*Server, check func(m cluster.MemberStatus) string) (last string, err error) {
	err = retry(ctx, func() error {
		for _, n := range nodes {
			st, _, err := adminStatus(ctx, n, testClusterSecret)
			if err != nil {
				last = err.Error()
				return err
			}
			for _, m := range st.Members {
				if why := check(m); why != "" {
					last = fmt.Sprintf("seen by %s: %s %s", n.NodeID, m.ID, why)
					return fmt.Errorf("%s", last)
				}
			}
		}
		return nil
	})
	return last, err
}

// waitLocalReads waits until every node, as each sees it, answers reads
// from its own store (read leases held from every other member, caught
// up).
func waitLocalReads(t *testing.T, nodes []*Server, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	last, err := waitMembers(ctx, nodes, func(m cluster.MemberStatus) string {
		if !m.LocalReads {
			return fmt.Sprintf("does not read locally (state %s, error %q)", m.State, m.Error)
		}
		return ""
	})
	if err != nil {
		t.Fatalf("not every node reads locally within %v: %s", within, last)
	}
	return time.Since(start)
}

func adminAlive(ctx context.Context, s *Server) (int, error) {
	st, _, err := adminStatus(ctx, s, testClusterSecret)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st.Members {
		if m.State == cluster.Alive && m.Lifecycle == "active" {
			n++
		}
	}
	return n, nil
}

// TestClusterObjectSuite runs the object suite against a three-node
// cluster, every light case through every node and each heavy case through
// one node (in turn).
func TestClusterObjectSuite(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	for i, sc := range objectSuite {
		for j, n := range nodes {
			if sc.heavy && j != i%len(nodes) {
				continue
			}
			tg := newTarget(t, n, nodes)
			t.Run(n.NodeID+"/"+sc.name, func(t *testing.T) { sc.fn(t, tg) })
		}
	}
}

// TestClusterCrossNode: what one node writes, every node reads at once;
// bucket configuration is everywhere; listings agree; bucket creation is
// linearizable; the internal endpoints refuse outsiders.
func TestClusterCrossNode(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	ctx := ctxT(t)
	clients := make([]*minio.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = n.Client(t)
	}
	b := newBucket(t, clients[0])
	for i, c := range clients {
		if ok, err := c.BucketExists(ctx, b); err != nil || !ok {
			t.Fatalf("bucket created through n1 not visible through n%d: %v, %v", i+1, ok, err)
		}
	}
	// With every node up, reads are local (read leases); read-after-write
	// below holds through them.
	t.Logf("every node reads locally %v after the bucket was created", waitLocalReads(t, nodes, 60*time.Second).Round(100*time.Millisecond))

	// Read-after-write from every node: new object, overwrite, delete.
	for round := range 3 {
		for w, cw := range clients {
			key := fmt.Sprintf("raw/%d-%d", round, w)
			body := randomBytes(1000 + rand.IntN(300<<10))
			putBytes(t, cw, b, key, body, minio.PutObjectOptions{})
			for r, cr := range clients {
				if got := mustGet(t, cr, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, body) {
					t.Fatalf("written through n%d, read through n%d: wrong bytes", w+1, r+1)
				}
			}
			body2 := []byte(fmt.Sprintf("overwrite %d %d", round, w))
			putBytes(t, clients[(w+1)%3], b, key, body2, minio.PutObjectOptions{})
			for r, cr := range clients {
				if got := mustGet(t, cr, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, body2) {
					t.Fatalf("overwrite through n%d, read through n%d: %q", (w+1)%3+1, r+1, got)
				}
			}
			if err := clients[(w+2)%3].RemoveObject(ctx, b, key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			for r, cr := range clients {
				_, err := getBytes(ctx, cr, b, key, minio.GetObjectOptions{})
				if errCode(err) != "NoSuchKey" {
					t.Fatalf("deleted through n%d, read through n%d: %v, want NoSuchKey", (w+2)%3+1, r+1, err)
				}
			}
		}
	}

	// Listings agree on every node.
	for i := range 40 {
		putBytes(t, clients[i%3], b, fmt.Sprintf("list/%02d/k", i%7)+fmt.Sprint(i), []byte("x"), minio.PutObjectOptions{})
	}
	var want string
	for i, c := range clients {
		var keys []string
		for _, o := range listAll(t, c, b, minio.ListObjectsOptions{Recursive: true}) {
			keys = append(keys, o.Key)
		}
		got := strings.Join(keys, ",")
		if len(keys) != 40 {
			t.Errorf("n%d lists %d keys, want 40", i+1, len(keys))
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("n%d lists differently from n1", i+1)
		}
	}

	// Versioning configured through one node applies everywhere.
	vb := newBucket(t, clients[1])
	if err := clients[2].EnableVersioning(ctx, vb); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		cfg, err := c.GetBucketVersioning(ctx, vb)
		if err != nil || cfg.Status != "Enabled" {
			t.Errorf("versioning through n%d: %q, %v", i+1, cfg.Status, err)
		}
	}
	var ids []string
	for i, c := range clients {
		ids = append(ids, putBytes(t, c, vb, "v", []byte(fmt.Sprint(i)), minio.PutObjectOptions{}).VersionID)
	}
	for i, n := range nodes {
		es, _ := listVersionsAll(t, newTarget(t, n, nodes), vb, "", "", 1000)
		if got := strings.Join(versionIDs(es), " "); got != ids[2]+"(latest) "+ids[1]+" "+ids[0] {
			t.Errorf("versions through n%d: %s", i+1, got)
		}
	}

	// Two nodes racing to create one bucket: exactly one wins.
	for race := range 5 {
		name := bucketName(fmt.Sprintf("race%d", race))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: testRegion})
				switch code := errCode(err); {
				case err == nil:
					wins.Add(1)
				case code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists":
				default:
					t.Errorf("racing MakeBucket: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("race %d: %d nodes created bucket %s, want exactly 1", race, wins.Load(), name)
		}
	}

	// Admin status: three alive members with their addresses.
	st, _, err := adminStatus(ctx, nodes[1], testClusterSecret)
	if err != nil {
		t.Fatal(err)
	}
	if st.Self != "n2" || len(st.Members) != 3 || st.Replicas != 3 {
		t.Errorf("status from n2: %+v", st)
	}
	for i, m := range st.Members {
		if m.ID != nodes[i].NodeID || m.State != cluster.Alive || m.S3Addr != nodes[i].Endpoint || m.GossipAddr == "" {
			t.Errorf("member %d: %+v", i, m)
		}
	}
	// Outsiders: no signature, or another secret, are refused.
	for _, secret := range []string{"", "another-cluster-secret-0123456789"} {
		if _, code, err := adminStatus(ctx, nodes[0], secret); err == nil || code != http.StatusForbidden {
			t.Errorf("admin status with secret %q: code %d, err %v; want 403", secret, code, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, nodes[0].URL+"/_bucketdb/rpc/", nil)
	if resp, err := rawHTTP.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
			t.Errorf("unsigned RPC request: %d", resp.StatusCode)
		}
	}
	// A node with another secret cannot join.
	evil := startServer(t, WithoutWait(), WithEnv("BUCKETDB_CLUSTER_SECRET=another-cluster-secret-0123456789"),
		WithArgs("--node-id", "evil", "--gossip", freePort(t, true), "--join", nodes[0].GossipAddr))
	time.Sleep(3 * time.Second)
	for _, n := range nodes {
		st, _, err := adminStatus(ctx, n, testClusterSecret)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st.Members {
			if m.ID == "evil" {
				t.Errorf("%s lists a node with another cluster secret as member: %+v", n.NodeID, m)
			}
		}
	}
	if evil.Running() {
		// Still up: it must not be serving as part of the cluster either.
		if _, err := adminAlive(ctx, evil); err == nil {
			t.Errorf("a node with another secret answers the admin endpoint signed with the cluster's secret")
		}
	}
}

// clusterRecord is an acknowledged write.
type clusterRecord struct {
	key  string
	md5  string
	size int
}

// TestClusterFailures: one node killed under load, healing after its
// restart, two of three down, and recovery.
func TestClusterFailures(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	b := newBucket(t, nodes[0].Client(t))
	var acked []clusterRecord

	t.Run("KillOneUnderLoad", func(t *testing.T) {
		acked = killUnderLoad(t, nodes, b)
	})
	if t.Failed() {
		return
	}
	t.Run("Healing", func(t *testing.T) {
		restarted := time.Now()
		nodes[2].Start()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		want := int64(len(acked))
		last, err := waitMembers(ctx, nodes, func(m cluster.MemberStatus) string {
			if m.State != cluster.Alive || m.Objects != want || m.Backlog != 0 {
				return fmt.Sprintf("state %s objects %d (want %d) backlog %d healing %v error %q",
					m.State, m.Objects, want, m.Backlog, m.Healing, m.Error)
			}
			return ""
		})
		if err != nil {
			t.Fatalf("n3 not healed within 150s after its restart: %s", last)
		}
		t.Logf("healing: n3 holds all %d objects again %v after its restart (admin status on every node)", want, time.Since(restarted).Round(100*time.Millisecond))
		waitLocalReads(t, nodes, 60*time.Second)
		t.Logf("healing: every node reads locally again %v after n3's restart", time.Since(restarted).Round(100*time.Millisecond))
		c3 := nodes[2].Client(t)
		for _, r := range acked {
			obj, err := c3.GetObject(ctxT(t), b, r.key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("%s through the restarted node: %v", r.key, err)
			}
			sum, n, err := streamMD5(obj)
			obj.Close()
			if err != nil || sum != r.md5 || n != int64(r.size) {
				t.Fatalf("%s through the restarted node: %d bytes md5 %s (%v), want %d bytes md5 %s", r.key, n, sum, err, r.size, r.md5)
			}
		}
	})
	if t.Failed() {
		return
	}
	t.Run("TwoOfThreeDown", func(t *testing.T) {
		c1 := nodes[0].Client(t)
		before := randomBytes(200 << 10)
		putBytes(t, c1, b, "before-outage", before, minio.PutObjectOptions{})
		nodes[1].Kill()
		nodes[2].Kill()
		tg := newTarget(t, nodes[0], nodes)
		start := time.Now()
		r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/refused", body: []byte("must never appear")})
		took := time.Since(start)
		r.wantError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
		if took > 30*time.Second {
			t.Errorf("write without quorum took %v to fail: want a bounded, fast 503", took)
		}
		t.Logf("write with two of three nodes down refused with 503 after %v", took.Round(time.Millisecond))
		start = time.Now()
		r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/before-outage"})
		switch r.Status {
		case http.StatusOK:
			if !bytes.Equal(r.Body, before) {
				t.Errorf("read without quorum returned wrong bytes")
			}
		case http.StatusServiceUnavailable:
			r.wantError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
		default:
			t.Errorf("read with two of three nodes down: %d, want 503 (or the right bytes)\n%s", r.Status, r.Body)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("read without quorum took %v", took)
		}
		nodes[1].Start()
		nodes[2].Start()
		waitClusterFormed(t, nodes)
		for _, n := range nodes {
			c := n.Client(t)
			if got := mustGet(t, c, b, "before-outage", minio.GetObjectOptions{}); !bytes.Equal(got, before) {
				t.Errorf("after recovery, %s returns wrong bytes for an object written before the outage", n.NodeID)
			}
			_, err := c.StatObject(ctxT(t), b, "refused", minio.StatObjectOptions{})
			if errCode(err) != "NoSuchKey" {
				t.Errorf("after recovery, %s: refused write: %v, want NoSuchKey", n.NodeID, err)
			}
		}
		for _, r := range acked {
			if _, err := nodes[1].Client(t).StatObject(ctxT(t), b, r.key, minio.StatObjectOptions{}); err != nil {
				t.Fatalf("after recovery %s: %v", r.key, err)
			}
		}
		putBytes(t, nodes[2].Client(t), b, "after-outage", []byte("ok"), minio.PutObjectOptions{})
	})
}

// killUnderLoad runs 16 clients (writers and readers) against n1 and n2,
// kills n3 with SIGKILL in the middle, and checks that no request failed and
// every acknowledged write is readable from both survivors.
func killUnderLoad(t *testing.T, nodes []*Server, b string) []clusterRecord {
	clients := []*minio.Client{nodes[0].Client(t), nodes[1].Client(t)}
	var mu sync.Mutex
	var acked []clusterRecord
	var failures []string
	var writes, reads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			c, other := clients[w%2], clients[(w+1)%2]
			ctx := context.Background()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				if w%4 != 3 { // 12 writers
					key := fmt.Sprintf("load/w%02d/%05d", w, seq)
					body := randomBytes(1 + rng.IntN(256<<10))
					if _, err := c.PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
						fail("PUT %s: %v", key, err)
						continue
					}
					writes.Add(1)
					mu.Lock()
					acked = append(acked, clusterRecord{key, md5hex(body), len(body)})
					mu.Unlock()
					continue
				}
				// 4 readers read acknowledged writes through the other node.
				mu.Lock()
				if len(acked) == 0 {
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				r := acked[rng.IntN(len(acked))]
				mu.Unlock()
				got, err := getBytes(ctx, other, b, r.key, minio.GetObjectOptions{})
				if err != nil {
					fail("GET %s: %v", r.key, err)
					continue
				}
				if md5hex(got) != r.md5 {
					fail("GET %s: wrong bytes", r.key)
				}
				reads.Add(1)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	beforeKill := writes.Load()
	nodes[2].Kill()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	// A member is down: nobody may answer reads on its own any more.
	for _, n := range nodes[:2] {
		st, _, err := adminStatus(ctxT(t), n, testClusterSecret)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st.Members {
			if m.LocalReads {
				t.Errorf("seen by %s: %s still reads locally with n3 killed", n.NodeID, m.ID)
			}
		}
	}
	t.Logf("%d writes and %d reads acknowledged (%d writes after the kill)", writes.Load(), reads.Load(), writes.Load()-beforeKill)
	if len(failures) > 0 {
		sort.Strings(failures)
		t.Errorf("%d requests failed while n3 was killed; first: %s", len(failures), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	if writes.Load()-beforeKill < 10 {
		t.Errorf("only %d writes succeeded after the kill", writes.Load()-beforeKill)
	}
	for i, c := range clients {
		for _, r := range acked {
			got, err := getBytes(ctxT(t), c, b, r.key, minio.GetObjectOptions{})
			if err != nil || md5hex(got) != r.md5 {
				t.Fatalf("acknowledged %s through n%d after the kill: %d bytes, %v", r.key, i+1, len(got), err)
			}
		}
	}
	return acked
}

// TestClusterClockSkew: a node whose clock is five minutes behind still
// orders versions by when they were written.
func TestClusterClockSkew(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, WithNodeArgs(2, "--test-clock-offset", "-5m"))
	ctx := ctxT(t)
	clients := []*minio.Client{nodes[0].Client(t), nodes[1].Client(t), nodes[2].Client(t)}
	b := newBucket(t, clients[0])
	if err := clients[0].EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	order := []int{0, 1, 0, 1, 2, 1, 1, 0}
	var ids []string
	for i, n := range order {
		info := putBytes(t, clients[n], b, "skewed", []byte(fmt.Sprintf("write %d through n%d", i, n+1)), minio.PutObjectOptions{})
		ids = append(ids, info.VersionID)
		for r, c := range clients {
			if got := mustGet(t, c, b, "skewed", minio.GetObjectOptions{}); string(got) != fmt.Sprintf("write %d through n%d", i, n+1) {
				t.Fatalf("after write %d through n%d, latest through n%d is %q", i, n+1, r+1, got)
			}
		}
	}
	for _, n := range nodes {
		es, _ := listVersionsAll(t, newTarget(t, n, nodes), b, "", "", 1000)
		var got []string
		for _, e := range es {
			got = append(got, e.VersionID)
		}
		var want []string
		for i := len(ids) - 1; i >= 0; i-- {
			want = append(want, ids[i])
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("versions through %s:\n%v\nwant newest first\n%v", n.NodeID, got, want)
		}
	}
	// Unversioned overwrites: the last write wins whichever node took it.
	ub := newBucket(t, clients[1])
	for i, n := range order {
		body := []byte(fmt.Sprintf("plain %d", i))
		putBytes(t, clients[n], ub, "k", body, minio.PutObjectOptions{})
		for r, c := range clients {
			if got := mustGet(t, c, ub, "k", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
				t.Fatalf("overwrite %d through n%d, read through n%d: %q", i, n+1, r+1, got)
			}
		}
	}
}
