package integration

import (
	"bytes"
	"context"
	"fmt"
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

// memberDeadline bounds each wait for the cluster to converge (join
// rebalance, removal drain, partition heal). The anti-entropy pass is kicked
// by every membership change, so convergence should take seconds; the
// deadline also covers one full 30s heal interval.
const memberDeadline = 75 * time.Second

// ackLog records acknowledged writes (key -> body) and the failures seen by
// background clients, safe for concurrent use.
type ackLog struct {
	mu       sync.Mutex
	keys     []string
	bodies   map[string][]byte
	failures []string
}

func newAckLog() *ackLog { return &ackLog{bodies: map[string][]byte{}} }

func (a *ackLog) add(key string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.bodies[key]; !ok {
		a.keys = append(a.keys, key)
	}
	a.bodies[key] = body
}

func (a *ackLog) fail(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = append(a.failures, fmt.Sprintf(format, args...))
}

func (a *ackLog) pick(rng *rand.Rand) (string, []byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.keys) == 0 {
		return "", nil, false
	}
	k := a.keys[rng.IntN(len(a.keys))]
	return k, a.bodies[k], true
}

func (a *ackLog) snapshot() map[string][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]byte, len(a.bodies))
	for k, v := range a.bodies {
		out[k] = v
	}
	return out
}

func (a *ackLog) checkNoFailures(t *testing.T, what string) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) > 0 {
		sort.Strings(a.failures)
		t.Errorf("%d background requests failed %s; first: %s", len(a.failures), what,
			strings.Join(a.failures[:min(5, len(a.failures))], "; "))
	}
}

// addNode starts one more cluster node (ID id) joining existing's gossip
// address, with the harness's credentials and the test cluster secret, and
// waits until it is ready.
func addNode(t *testing.T, id string, existing *Server) *Server {
	t.Helper()
	cfg := serverConfig{accessKey: testAccessKey, secretKey: testSecretKey,
		env: []string{"BUCKETDB_CLUSTER_SECRET=" + testClusterSecret}}
	gossip := freePort(t, true)
	s := newServer(t, cfg, t.TempDir(), freePort(t, false),
		[]string{"--node-id", id, "--gossip", gossip, "--replicas", "3", "--join", existing.GossipAddr})
	s.NodeID, s.GossipAddr = id, gossip
	s.launch()
	s.waitReady(readyTimeout)
	return s
}

// adminRemove asks node via to decommission member id (what `bucketdb
// cluster remove` does).
func adminRemove(ctx context.Context, via *Server, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, via.URL+cluster.AdminRemovePath+"?node="+id, nil)
	if err != nil {
		return err
	}
	cluster.SignAdminRequest(req, testClusterSecret)
	resp, err := rawHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin remove %s: %s", id, resp.Status)
	}
	return nil
}

// waitReplicated polls every node in nodes until each sees exactly the
// members of nodes alive and active (plus the removed ones as removed),
// every backlog is empty and the objects held sum to N x want. It returns
// how long that took, or fails the test with the last status seen.
func waitReplicated(t *testing.T, nodes []*Server, removed []string, want int, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	active := map[string]bool{}
	for _, n := range nodes {
		active[n.NodeID] = true
	}
	gone := map[string]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	var last string
	err := retry(ctx, func() error {
		for _, n := range nodes {
			st, _, err := adminStatus(ctx, n, testClusterSecret)
			if err != nil {
				last = err.Error()
				return err
			}
			var sum int64
			var desc []string
			seen := 0
			for _, m := range st.Members {
				desc = append(desc, fmt.Sprintf("%s[%s/%s objects %d backlog %d healing %v %s]",
					m.ID, m.State, m.Lifecycle, m.Objects, m.Backlog, m.Healing, m.Error))
				switch {
				case gone[m.ID]:
					if m.Lifecycle != "removed" {
						last = fmt.Sprintf("seen by %s: %s is %q, want removed: %s", n.NodeID, m.ID, m.Lifecycle, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
				case active[m.ID]:
					seen++
					if m.State != cluster.Alive || m.Lifecycle != "active" || m.Backlog != 0 || m.Error != "" {
						last = fmt.Sprintf("seen by %s: %s", n.NodeID, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
					if m.Objects > int64(want) {
						t.Errorf("seen by %s: %s holds %d objects, more than the %d written", n.NodeID, m.ID, m.Objects, want)
					}
					if m.Objects == 0 && want > 0 {
						last = fmt.Sprintf("seen by %s: %s holds no objects yet: %s", n.NodeID, m.ID, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
					sum += m.Objects
				default:
					last = fmt.Sprintf("seen by %s: unexpected member %s", n.NodeID, m.ID)
					return fmt.Errorf("%s", last)
				}
			}
			if seen != len(nodes) || st.Replicas != 3 {
				last = fmt.Sprintf("seen by %s: %d of %d members, replicas %d", n.NodeID, seen, len(nodes), st.Replicas)
				return fmt.Errorf("%s", last)
			}
			if sum != 3*int64(want) {
				last = fmt.Sprintf("seen by %s: objects held sum to %d, want 3 x %d = %d: %s",
					n.NodeID, sum, want, 3*want, strings.Join(desc, " "))
				return fmt.Errorf("%s", last)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("not converged within %v: %s%s", deadline, last, clusterLogs(nodes))
	}
	return time.Since(start)
}

// checkAllReadable reads every acknowledged object through every node in
// nodes and compares the bytes.
func checkAllReadable(t *testing.T, nodes []*Server, b string, objs map[string][]byte) {
	t.Helper()
	for _, n := range nodes {
		c := n.Client(t)
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		err := parallel(len(keys), 8, func(i int) error {
			got, err := getBytes(ctxT(t), c, b, keys[i], minio.GetObjectOptions{})
			if err != nil {
				return fmt.Errorf("%s through %s: %v", keys[i], n.NodeID, err)
			}
			if !bytes.Equal(got, objs[keys[i]]) {
				return fmt.Errorf("%s through %s: %d bytes md5 %s, want %d bytes md5 %s",
					keys[i], n.NodeID, len(got), md5hex(got), len(objs[keys[i]]), md5hex(objs[keys[i]]))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("acknowledged object not readable: %v", err)
		}
	}
}

// TestClusterMembershipJoinRemove joins a fourth node to a running
// three-node cluster, then decommissions n2, while a background client
// keeps writing new objects and reading acknowledged ones through n1 and n3.
// After each change every acknowledged object is readable through every
// remaining node and the objects held across the members sum to 3x the
// objects written (N=3), with n2 shown as removed.
func TestClusterMembershipJoinRemove(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	ctx := ctxT(t)
	b := newBucket(t, nodes[0].Client(t))
	acks := newAckLog()

	// 200 objects through all three nodes, 16 workers.
	clients := []*minio.Client{nodes[0].Client(t), nodes[1].Client(t), nodes[2].Client(t)}
	err := parallel(200, 16, func(i int) error {
		key := fmt.Sprintf("seed/%03d", i)
		body := randomBytes(256 + i*17)
		if _, err := clients[i%3].PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("PUT %s: %v", key, err)
		}
		acks.add(key, body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Background: 2 writers and 2 readers through n1 and n3 (the nodes that
	// stay), until stopped or for at most 3 minutes. gate pauses the writers
	// while the replica counts are checked (a count needs a quiet cluster).
	var gate sync.RWMutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, reads atomic.Int64
	stay := []*minio.Client{nodes[0].Client(t), nodes[2].Client(t)}
	bgEnd := time.Now().Add(3 * time.Minute)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			c := stay[w%2]
			for seq := 0; time.Now().Before(bgEnd); seq++ {
				select {
				case <-stop:
					return
				default:
				}
				if w < 2 {
					key := fmt.Sprintf("bg/w%d/%05d", w, seq)
					body := randomBytes(100 + rng.IntN(4000))
					gate.RLock()
					cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					_, err := c.PutObject(cctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
					cancel()
					if err == nil {
						acks.add(key, body)
						writes.Add(1)
					}
					gate.RUnlock()
					if err != nil {
						acks.fail("PUT %s: %v", key, err)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				key, body, _ := acks.pick(rng)
				cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				got, err := getBytes(cctx, c, b, key, minio.GetObjectOptions{})
				cancel()
				switch {
				case err != nil:
					acks.fail("GET %s: %v", key, err)
				case !bytes.Equal(got, body):
					acks.fail("GET %s: %d bytes md5 %s, want %d bytes md5 %s", key, len(got), md5hex(got), len(body), md5hex(body))
				default:
					reads.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	t.Cleanup(stopLoad)

	// Join n4 while the load runs.
	time.Sleep(time.Second)
	joined := time.Now()
	n4 := addNode(t, "n4", nodes[0])
	ready := time.Since(joined)
	four := append(append([]*Server(nil), nodes...), n4)
	time.Sleep(2 * time.Second) // some load while the cluster rebalances
	gate.Lock()
	want := len(acks.snapshot())
	took := waitReplicated(t, four, nil, want, memberDeadline)
	t.Logf("join: n4 ready %v after launch; %d objects at N=3 across 4 nodes (sum of objects held = %d, every node holding some) %v after the launch (2s of load, then %v of polling with writes paused)",
		ready.Round(100*time.Millisecond), want, 3*want, time.Since(joined).Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	checkAllReadable(t, four, b, acks.snapshot())
	gate.Unlock()

	// Decommission n2 while the load runs.
	removing := time.Now()
	if err := adminRemove(ctx, nodes[0], "n2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	gate.Lock()
	remaining := []*Server{nodes[0], nodes[2], n4}
	want = len(acks.snapshot())
	took = waitReplicated(t, remaining, []string{"n2"}, want, memberDeadline)
	t.Logf("removal: n2 drained and shown removed, %d objects at N=3 across n1, n3, n4, %v after the removal started (2s of load, then %v of polling with writes paused)",
		want, time.Since(removing).Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	checkAllReadable(t, remaining, b, acks.snapshot())
	gate.Unlock()

	time.Sleep(time.Second)
	stopLoad()
	t.Logf("background: %d writes and %d reads acknowledged during join and removal", writes.Load(), reads.Load())
	acks.checkNoFailures(t, "during join and removal")
	final := acks.snapshot()
	checkAllReadable(t, remaining, b, final)
	waitReplicated(t, remaining, []string{"n2"}, len(final), memberDeadline)
}
