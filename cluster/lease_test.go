package cluster

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// leaseCluster starts three nodes that run anti-entropy passes when asked
// (so that they catch up and read locally) and a bucket "b".
func leaseCluster(t *testing.T) *testCluster {
	t.Helper()
	tc := startCluster(t, 3, func(i int, c *Config) { c.HealInterval = time.Hour })
	mustCreate(t, tc.nodes[0], "b")
	return tc
}

// waitLocalReads waits until node i reads locally.
func (tc *testCluster) waitLocalReads(i int) {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !tc.nodes[i].lease.readable() {
		if time.Now().After(deadline) {
			tc.t.Fatalf("%s never started reading locally", tc.nodes[i].id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countRemoteReads counts the version lookups and reads sent between
// nodes from now on.
func (tc *testCluster) countRemoteReads() *atomic.Int64 {
	var n atomic.Int64
	tc.net.setFail(func(ctx context.Context, from, to, op string) error {
		if strings.HasSuffix(op, "GetRequest") {
			n.Add(1)
		}
		return nil
	})
	return &n
}

// With every lease held, any replica answers a read from its own store,
// and a write is on every replica when it is acknowledged.
func TestReadLeaseLocalReads(t *testing.T) {
	tc := leaseCluster(t)
	put(t, tc.nodes[0], "b", "k", "v1")
	for i := range tc.nodes {
		tc.waitLocalReads(i)
	}
	remote := tc.countRemoteReads()
	for i := range 3 {
		put(t, tc.nodes[i], "b", "k", "v2-"+tc.nodes[i].id)
		for _, nd := range tc.nodes {
			mustGet(t, nd, "b", "k", "v2-"+tc.nodes[i].id)
			if _, err := nd.HeadObject(context.Background(), "b", "k", store.GetOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := remote.Load(); got != 0 {
		t.Fatalf("%d reads left their node", got)
	}
	// A miss still asks the quorum.
	if _, _, err := get(t, tc.nodes[1], "b", "missing", store.GetOptions{}); err == nil {
		t.Fatal("missing key found")
	}
	if remote.Load() == 0 {
		t.Fatal("a miss was answered locally")
	}
}

// A replica cut off from the others stops reading locally before a write
// it missed is acknowledged, and reads locally again only once it has
// caught up.
func TestReadLeaseCutOffReplica(t *testing.T) {
	tc := leaseCluster(t)
	put(t, tc.nodes[0], "b", "k", "v1")
	for i := range tc.nodes {
		tc.waitLocalReads(i)
	}
	tc.net.partition([]string{"n0", "n1"}, []string{"n2"})
	start := time.Now()
	put(t, tc.nodes[0], "b", "k", "v2")
	took := time.Since(start)
	if tc.nodes[2].lease.readable() {
		t.Fatalf("cut-off replica still reads locally after a write it missed (acknowledged after %v)", took)
	}
	if _, body, err := get(t, tc.nodes[2], "b", "k", store.GetOptions{}); err == nil && body != "v2" {
		t.Fatalf("cut-off replica answered %q", body)
	}
	if took > leaseTerm+time.Second {
		t.Fatalf("write took %v, longer than a lease", took)
	}
	// Writes while it is refused a lease do not wait for it again.
	start = time.Now()
	put(t, tc.nodes[1], "b", "k2", "x")
	if took := time.Since(start); took > leaseTerm/2 {
		t.Fatalf("second write took %v", took)
	}
	tc.net.healAll()
	tc.waitLocalReads(2)
	remote := tc.countRemoteReads()
	mustGet(t, tc.nodes[2], "b", "k", "v2")
	mustGet(t, tc.nodes[2], "b", "k2", "x")
	if got := remote.Load(); got != 0 {
		t.Fatalf("%d reads left the caught-up node", got)
	}
}

// A restarted node reads locally only after it has caught up with what
// was written while it was down.
func TestReadLeaseRestart(t *testing.T) {
	tc := leaseCluster(t)
	put(t, tc.nodes[0], "b", "k", "v1")
	for i := range tc.nodes {
		tc.waitLocalReads(i)
	}
	tc.stop(2)
	put(t, tc.nodes[0], "b", "k", "v2")
	put(t, tc.nodes[1], "b", "new", "n")
	for i := range 2 {
		if tc.nodes[i].lease.readable() {
			t.Fatalf("%s reads locally with a member down", tc.nodes[i].id)
		}
	}
	tc.restart(2)
	tc.waitLocalReads(2)
	remote := tc.countRemoteReads()
	mustGet(t, tc.nodes[2], "b", "k", "v2")
	mustGet(t, tc.nodes[2], "b", "new", "n")
	if got := remote.Load(); got != 0 {
		t.Fatalf("%d reads left the restarted node", got)
	}
}
