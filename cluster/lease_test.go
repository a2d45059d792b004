package cluster

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// leaseCluster starts three nodes that run anti-entropy passes when asked
// (so that they catch up and read locally), writes b/k = v1 and waits
// until every node reads locally.
func leaseCluster(t *testing.T) *testCluster {
	t.Helper()
	tc := startCluster(t, 3, func(i int, c *Config) { c.HealInterval = time.Hour })
	mustCreate(t, tc.nodes[0], "b")
	put(t, tc.nodes[0], "b", "k", "v1")
	for i := range tc.nodes {
		tc.waitLocalReads(i)
	}
	return tc
}

// mustGetLocally reads each key of want through node i and fails unless
// every body matches and no read left the node.
func (tc *testCluster) mustGetLocally(i int, want map[string]string) {
	tc.t.Helper()
	remote := tc.countRemoteReads()
	for key, body := range want {
		mustGet(tc.t, tc.nodes[i], "b", key, body)
	}
	if got := remote.Load(); got != 0 {
		tc.t.Fatalf("%d reads left %s", got, tc.nodes[i].id)
	}
}

// waitLocalReads waits until node i reads locally.
func (tc *testCluster) waitLocalReads(i int) {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !tc.nodes[i].readsLocal() {
		if time.Now().After(deadline) {
			tc.t.Fatalf("%s never started reading locally", tc.nodes[i].id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readsLocal reports whether nd answers reads locally under its current
// registry.
func (nd *Node) readsLocal() bool { return nd.lease.readable(nd.reg.view().fp) }

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
	tc.net.partition([]string{"n0", "n1"}, []string{"n2"})
	start := time.Now()
	put(t, tc.nodes[0], "b", "k", "v2")
	took := time.Since(start)
	if tc.nodes[2].readsLocal() {
		t.Fatalf("cut-off replica still reads locally after a write it missed (acknowledged after %v)", took)
	}
	if _, body, err := get(t, tc.nodes[2], "b", "k", store.GetOptions{}); err == nil && body != "v2" {
		t.Fatalf("cut-off replica answered %q", body)
	}
	if took > leaseTerm+time.Second {
		t.Fatalf("write took %v, longer than a lease", took)
	}
	// Later writes through the same coordinator do not wait for it again.
	start = time.Now()
	put(t, tc.nodes[0], "b", "k2", "x")
	if took := time.Since(start); took > leaseTerm/2 {
		t.Fatalf("second write took %v", took)
	}
	tc.net.healAll()
	tc.waitLocalReads(2)
	tc.mustGetLocally(2, map[string]string{"k": "v2", "k2": "x"})
}

// A restarted node reads locally only after it has caught up with what
// was written while it was down.
func TestReadLeaseRestart(t *testing.T) {
	tc := leaseCluster(t)
	tc.stop(2)
	put(t, tc.nodes[0], "b", "k", "v2")
	put(t, tc.nodes[1], "b", "new", "n")
	for i := range 2 {
		if tc.nodes[i].readsLocal() {
			t.Fatalf("%s reads locally with a member down", tc.nodes[i].id)
		}
	}
	tc.restart(2)
	tc.waitLocalReads(2)
	tc.mustGetLocally(2, map[string]string{"k": "v2", "new": "n"})
}

// A write that a reader did not commit waits until the reader's lease has
// run out, and no lease is granted to it meanwhile; a holder that is not
// reading costs no wait. Either way the holder's run is broken.
func TestLeaseWaitOut(t *testing.T) {
	l := newLeases(slog.New(slog.DiscardHandler), false)
	ctx := context.Background()
	if ok, _ := l.grant("h", 1, true, true); !ok {
		t.Fatal("lease refused")
	}
	if ok, _ := l.grant("idle", 1, true, false); !ok {
		t.Fatal("lease refused")
	}
	start := time.Now()
	if err := l.waitOut(ctx, []string{"idle"}); err != nil || time.Since(start) > leaseTerm/4 {
		t.Fatalf("waiting out a holder that is not reading took %v (%v)", time.Since(start), err)
	}
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		l.waitOut(ctx, []string{"h"})
		done <- time.Since(start)
	}()
	time.Sleep(50 * time.Millisecond)
	if ok, _ := l.grant("h", 1, true, true); ok {
		t.Fatal("lease granted to a reader being waited out")
	}
	if took := <-done; took < leaseTerm-200*time.Millisecond {
		t.Fatalf("reader waited out after %v, before its lease ended", took)
	}
	for _, id := range []string{"h", "idle"} {
		if ok, gap := l.grant(id, 1, true, true); !ok || !gap {
			t.Fatalf("%s after a write without it: granted %v, gap %v", id, ok, gap)
		}
	}
}

// When the member registry changes, writes wait until every reader lease
// granted under the old one has run out (a reader may replicate a key
// under the old registry that it does not under the new), and every run
// is broken.
func TestLeaseSettleOnRegistryChange(t *testing.T) {
	l := newLeases(slog.New(slog.DiscardHandler), false)
	ctx := context.Background()
	if err := l.settle(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if ok, gap := l.grant("h", 1, true, true); !ok || !gap {
		t.Fatalf("first grant: %v, gap %v", ok, gap)
	}
	start := time.Now()
	l.settle(ctx, 1)
	if took := time.Since(start); took > leaseTerm/4 {
		t.Fatalf("write under the same registry waited %v", took)
	}
	l.settle(ctx, 2)
	if took := time.Since(start); took < leaseTerm-200*time.Millisecond {
		t.Fatalf("write under a new registry waited only %v", took)
	}
	if ok, gap := l.grant("h", 1, true, true); !ok || !gap {
		t.Fatalf("grant after the registry change: %v, gap %v", ok, gap)
	}
}

// A node that knew peers when it started may have granted reader leases
// before a restart: its first writes wait for one lease term after start.
func TestLeaseRestartHonoursOldGrants(t *testing.T) {
	start := time.Now()
	l := newLeases(slog.New(slog.DiscardHandler), true)
	l.settle(context.Background(), 1)
	if took := time.Since(start); took < leaseTerm-100*time.Millisecond {
		t.Fatalf("restarted node acknowledged a write %v after start", took)
	}
	// The old promises ran until then: a grant now starts a new run.
	if ok, gap := l.grant("h", 1, true, true); !ok || !gap {
		t.Fatalf("first grant after boot: %v, gap %v", ok, gap)
	}
}

// A replica slow to prepare holds back only its own commit: the others
// commit as soon as W prepared, and the write is acknowledged once the
// slow one, which holds a reader lease, has prepared and committed too.
func TestSlowPrepareCommitsOthersFirst(t *testing.T) {
	tc := leaseCluster(t)
	blocked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	tc.net.setFail(func(ctx context.Context, from, to, op string) error {
		if to == "n2" && strings.HasSuffix(op, "PrepareRequest") {
			once.Do(func() { close(blocked) })
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	defer tc.net.setFail(nil)
	done := make(chan error, 1)
	go func() {
		_, err := tc.nodes[0].PutObject(context.Background(), "b", "k", strings.NewReader("v2"), 2, store.PutOptions{})
		done <- err
	}()
	<-blocked
	// The lease n2 granted n0 lasts up to 2 s; n0 and n1 must not wait for
	// n2's prepare to commit.
	waitWithin(t, time.Second, "the fast replicas to commit", func() bool {
		return tc.holdsBody(0, "k", "v2") && tc.holdsBody(1, "k", "v2")
	})
	select {
	case err := <-done:
		t.Fatalf("acknowledged (err %v) before the replica holding a reader lease committed", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !tc.holdsBody(2, "k", "v2") {
		t.Fatal("acknowledged before n2 committed")
	}
	tc.mustGetLocally(2, map[string]string{"k": "v2"})
}

// holdsBody reports whether node i's own store has body as the current
// version of b/key.
func (tc *testCluster) holdsBody(i int, key, body string) bool {
	_, rc, err := tc.stores[i].GetObject(context.Background(), "b", key, store.GetOptions{})
	if err != nil {
		return false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return err == nil && string(b) == body
}
