package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

func mustCreate(t *testing.T, nd *Node, bucket string) {
	t.Helper()
	if err := nd.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
}

// holders counts the running nodes whose store holds a version of key
// with body-independent identity id ("" = any version).
func (tc *testCluster) holders(bucket, key, id string) int {
	n := 0
	for i, nd := range tc.nodes {
		if nd == nil {
			continue
		}
		for _, v := range tc.localVersions(i, bucket, key) {
			if id == "" || internalOf(v) == id {
				n++
				break
			}
		}
	}
	return n
}

func TestNodeLossAndHeal(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	for i := range 10 {
		put(t, tc.nodes[i%3], "b", fmt.Sprint("before", i), "x")
	}
	tc.stop(2)
	// Writes and reads keep succeeding on the two survivors.
	var acked []store.ObjectInfo
	for i := range 20 {
		acked = append(acked, put(t, tc.nodes[i%2], "b", fmt.Sprint("during", i), fmt.Sprint("v", i)))
	}
	put(t, tc.nodes[0], "b", "before0", "overwritten")
	if _, err := tc.nodes[1].DeleteObject(ctx, "b", "before1", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustGet(t, tc.nodes[(i+1)%2], "b", fmt.Sprint("during", i), fmt.Sprint("v", i))
	}
	// The node comes back: reads are right at once (quorum), and healing
	// makes it hold every replica again.
	tc.restart(2)
	mustGet(t, tc.nodes[2], "b", "before0", "overwritten")
	if _, _, err := get(t, tc.nodes[2], "b", "before1", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("deleted key after restart: %v", err)
	}
	tc.healAll()
	for i, info := range acked {
		if got := tc.holders("b", fmt.Sprint("during", i), internalOf(info)); got != 3 {
			t.Fatalf("during%d on %d nodes after heal", i, got)
		}
	}
	if vs := tc.localVersions(2, "b", "before1"); len(vs) != 0 {
		t.Fatalf("node 2 still holds the deleted key: %+v", vs)
	}
	if vs := tc.localVersions(2, "b", "before0"); len(vs) != 1 || vs[0].ETag != md5hex("overwritten") {
		t.Fatalf("node 2 holds %+v", vs)
	}
	st := tc.nodes[0].Status(ctx)
	for _, m := range st.Members {
		if m.Objects != 29 || m.Backlog != 0 || m.State != Alive {
			t.Fatalf("status after heal: %+v", m)
		}
	}
}

// After a node missed writes, each missed version is copied to it once: a
// surviving replica leaves a version to the replica ahead of it in the
// key's preference list that holds it too, but only for one pass; the next
// (retry) pass copies whatever is still missing, so a replica ahead that
// never runs its pass delays healing by one pass, not for ever.
func TestHealCopiesEachMissedVersionOnce(t *testing.T) {
	tc := startCluster(t, 3)
	mustCreate(t, tc.nodes[0], "b")
	tc.stop(2)
	const keys = 40
	var acked []store.ObjectInfo
	for i := range keys {
		acked = append(acked, put(t, tc.nodes[i%2], "b", fmt.Sprint("k", i), fmt.Sprint("v", i)))
	}
	tc.restart(2)
	var mu sync.Mutex
	copies := map[string]int{}
	tc.net.setFail(func(_ context.Context, from, to, op string) error {
		if to == "n2" && strings.HasSuffix(op, "PutVersionRequest") {
			mu.Lock()
			copies[from]++
			mu.Unlock()
		}
		return nil
	})
	// n1 alone, first pass: it copies the keys it is ahead of n0 for.
	ahead := 0
	for i := range keys {
		for _, m := range tc.nodes[1].place("b", fmt.Sprint("k", i)).nodes {
			if m.ID == "n1" {
				ahead++
				break
			}
			if m.ID == "n0" {
				break
			}
		}
	}
	if ahead == 0 || ahead == keys {
		t.Fatalf("placement puts n1 ahead of n0 for %d of %d keys; the test needs both kinds", ahead, keys)
	}
	if err := tc.nodes[1].HealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if copies["n1"] != ahead {
		t.Fatalf("first pass of n1 copied %d versions to n2, want the %d it is ahead of n0 for", copies["n1"], ahead)
	}
	for _, m := range tc.nodes[1].Status(context.Background()).Members {
		if m.ID == "n1" && m.Backlog != int64(keys-ahead) {
			t.Fatalf("n1's backlog after its first pass %d, want %d (left to n0)", m.Backlog, keys-ahead)
		}
	}
	// n0 never runs a pass: n1's retry pass copies the rest.
	if err := tc.nodes[1].HealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if copies["n1"] != keys || copies["n0"] != 0 {
		t.Fatalf("after the retry pass: copies %v, want n1:%d", copies, keys)
	}
	for i, info := range acked {
		if got := tc.holders("b", fmt.Sprint("k", i), internalOf(info)); got != 3 {
			t.Fatalf("k%d on %d nodes after heal", i, got)
		}
	}
	// A pass that follows a clean one leaves shared versions to the
	// replica ahead again; both passes together copy each version once.
	tc.stop(2)
	for i := range keys {
		acked[i] = put(t, tc.nodes[i%2], "b", fmt.Sprint("k", i), fmt.Sprint("w", i))
	}
	tc.restart(2)
	tc.healAll() // n0's passes, then n1's, twice
	mu.Lock()
	total := copies["n0"] + copies["n1"]
	mu.Unlock()
	if total != 2*keys {
		t.Fatalf("healing %d new versions made %d copies (%v), want one each", keys, total-keys, copies)
	}
	for i, info := range acked {
		if got := tc.holders("b", fmt.Sprint("k", i), internalOf(info)); got != 3 {
			t.Fatalf("k%d's new version on %d nodes after heal", i, got)
		}
	}
}

func TestNoQuorumFailsAndNeverSurfaces(t *testing.T) {
	tc := startCluster(t, 3, func(i int, c *Config) { c.RPCTimeout = 2 * time.Second })
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	put(t, tc.nodes[0], "b", "k", "old")
	tc.stop(1)
	tc.stop(2)
	_, err := tc.nodes[0].PutObject(ctx, "b", "k", strings.NewReader("refused"), 7, store.PutOptions{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write without quorum: %v", err)
	}
	if _, err := tc.nodes[0].DeleteObject(ctx, "b", "k", store.DeleteOptions{}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("delete without quorum: %v", err)
	}
	if _, _, err := get(t, tc.nodes[0], "b", "k", store.GetOptions{}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("read without quorum: %v", err)
	}
	if _, err := tc.nodes[0].ListObjects(ctx, "b", store.ListOptions{MaxKeys: 10}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("list without quorum: %v", err)
	}
	tc.restart(1)
	tc.restart(2)
	tc.healAll()
	for _, nd := range tc.nodes {
		mustGet(t, nd, "b", "k", "old")
	}
}

// A replica that staged a write whose quorum then failed never shows it.
func TestStagedButRefused(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	put(t, tc.nodes[0], "b", "k", "old")
	tc.net.setFail(func(_ context.Context, from, to, op string) error {
		if to != "n0" && strings.HasSuffix(op, "PrepareRequest") {
			return fmt.Errorf("%w: injected", errUnreachable)
		}
		return nil
	})
	_, err := tc.nodes[0].PutObject(ctx, "b", "k", strings.NewReader("refused"), 7, store.PutOptions{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write with one prepared replica: %v", err)
	}
	tc.net.setFail(nil)
	tc.healAll()
	for i, nd := range tc.nodes {
		mustGet(t, nd, "b", "k", "old")
		if vs := tc.localVersions(i, "b", "k"); len(vs) != 1 || vs[0].ETag != md5hex("old") {
			t.Fatalf("node %d holds %+v", i, vs)
		}
	}
}

func TestPartitionedMinority(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	if err := tc.nodes[0].SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	tc.net.partition([]string{"n0", "n1"}, []string{"n2"})
	var acked []store.ObjectInfo
	for i := range 10 {
		acked = append(acked, put(t, tc.nodes[i%2], "b", fmt.Sprint("k", i), "majority"))
		_, err := tc.nodes[2].PutObject(ctx, "b", fmt.Sprint("k", i), strings.NewReader("minority"), 8, store.PutOptions{})
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("minority write: %v", err)
		}
	}
	tc.net.healAll()
	tc.healAll()
	for i := range 10 {
		key := fmt.Sprint("k", i)
		for j, nd := range tc.nodes {
			mustGet(t, nd, "b", key, "majority")
			vs := tc.localVersions(j, "b", key)
			if len(vs) != 1 || internalOf(vs[0]) != internalOf(acked[i]) {
				t.Fatalf("node %d holds %+v for %s", j, vs, key)
			}
		}
	}
}

func TestReadRepair(t *testing.T) {
	tc := startCluster(t, 3)
	mustCreate(t, tc.nodes[0], "b")
	put(t, tc.nodes[0], "b", "k", "v1")
	tc.stop(2)
	v2 := put(t, tc.nodes[0], "b", "k", "v2")
	tc.restart(2)
	mustGet(t, tc.nodes[2], "b", "k", "v2")
	waitFor(t, "read repair", func() bool { return tc.holders("b", "k", internalOf(v2)) == 3 })
}

func TestJoinAndRemove(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	const keys = 40
	for i := range keys {
		put(t, tc.nodes[i%3], "b", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	checkPlacement := func(stage string) {
		t.Helper()
		for i := range keys {
			key := fmt.Sprint("k", i)
			p := tc.nodes[0].place("b", key)
			if len(p.nodes) != 3 {
				t.Fatalf("%s: %s placed on %d nodes", stage, key, len(p.nodes))
			}
			owners := map[string]bool{}
			for _, m := range p.nodes {
				owners[m.ID] = true
			}
			for j, nd := range tc.nodes {
				has := len(tc.localVersions(j, "b", key)) > 0
				if has != owners[nd.id] {
					t.Fatalf("%s: %s on %s = %v, owners %v", stage, key, nd.id, has, owners)
				}
			}
			for _, nd := range tc.nodes {
				if nd.reg.view().byID[nd.id].State != stateRemoved {
					mustGet(t, nd, "b", key, fmt.Sprint("v", i))
				}
			}
		}
	}
	n3 := tc.addNode()
	if got := len(n3.activeMembers()); got != 4 {
		t.Fatalf("new node sees %d members", got)
	}
	// Readable throughout: before any healing.
	for i := range keys {
		mustGet(t, n3, "b", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	tc.healAll()
	checkPlacement("after join")
	moved := 0
	for i := range keys {
		if len(tc.localVersions(3, "b", fmt.Sprint("k", i))) > 0 {
			moved++
		}
	}
	if moved == 0 || moved == keys {
		t.Fatalf("the new node holds %d of %d keys", moved, keys)
	}
	// Remove n1 while it is alive: it drains, then leaves.
	if err := tc.nodes[0].Remove(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		mustGet(t, tc.nodes[2], "b", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	tc.healAll()
	tc.healAll()
	if st := tc.nodes[1].reg.view().byID["n1"].State; st != stateRemoved {
		t.Fatalf("n1 is %s after draining", st)
	}
	for i := range keys {
		if vs := tc.localVersions(1, "b", fmt.Sprint("k", i)); len(vs) != 0 {
			t.Fatalf("drained node still holds k%d", i)
		}
	}
	checkPlacement("after remove")
	st := tc.nodes[0].Status(ctx)
	if len(st.Members) != 4 || st.Replicas != 3 {
		t.Fatalf("status %+v", st)
	}
}

func TestRemoveDeadNode(t *testing.T) {
	tc := startCluster(t, 4)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	for i := range 20 {
		put(t, tc.nodes[0], "b", fmt.Sprint("k", i), "v")
	}
	tc.stop(3)
	if err := tc.nodes[0].Remove(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	tc.healAll()
	for i := range 20 {
		if got := tc.holders("b", fmt.Sprint("k", i), ""); got != 3 {
			t.Fatalf("k%d has %d replicas after removing a dead node", i, got)
		}
	}
}

// A node whose clock is far behind still orders its writes after the
// ones it has seen.
func TestClockSkew(t *testing.T) {
	tc := startCluster(t, 3, func(i int, c *Config) {
		if i == 2 {
			c.ClockOffset = -10 * time.Minute
		}
	})
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	if err := tc.nodes[0].SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		put(t, tc.nodes[0], "b", "k", fmt.Sprint("fast", i))
		v := put(t, tc.nodes[2], "b", "k", fmt.Sprint("slow", i))
		got := mustGet(t, tc.nodes[1], "b", "k", fmt.Sprint("slow", i))
		if got.VersionID != v.VersionID {
			t.Fatalf("latest is %s, want %s", got.VersionID, v.VersionID)
		}
	}
	// Unversioned overwrites too.
	put(t, tc.nodes[0], "b", "u", "fast")
	put(t, tc.nodes[2], "b", "u", "slow")
	mustGet(t, tc.nodes[0], "b", "u", "slow")
}

// Coordinators racing to create one bucket: exactly one wins, also when
// their votes split so that none held a majority on its first try.
func TestCreateBucketRace(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	for round := range 30 {
		name := fmt.Sprint("race", round)
		errs := make(chan error, 3)
		for _, nd := range tc.nodes {
			go func() { errs <- nd.CreateBucket(ctx, name) }()
		}
		wins := 0
		for range tc.nodes {
			err := <-errs
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrBucketExists):
			default:
				t.Fatalf("create: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d creators won", round, wins)
		}
		tc.healAll()
		_, err := tc.nodes[0].GetBucket(ctx, name)
		if (wins == 1) != (err == nil) {
			t.Fatalf("round %d: %d wins, get bucket: %v", round, wins, err)
		}
	}
}

// A bucket created while a node was down reaches it through healing, with
// its versioning state.
func TestBucketHealing(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "early")
	if err := tc.nodes[0].PutBucketConfig(ctx, "early", "cors", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := tc.nodes[0].PutBucketConfig(ctx, "early", "policy", []byte("p")); err != nil {
		t.Fatal(err)
	}
	tc.stop(2)
	mustCreate(t, tc.nodes[0], "late")
	if err := tc.nodes[1].SetBucketVersioning(ctx, "late", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	if err := tc.nodes[1].PutBucketConfig(ctx, "early", "cors", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := tc.nodes[1].DeleteBucketConfig(ctx, "early", "policy"); err != nil {
		t.Fatal(err)
	}
	if err := tc.stores[0].CreateBucket(ctx, "stray"); err != nil { // as if a deletion missed node 0
		t.Fatal(err)
	}
	tc.restart(2)
	// Known at once through the others…
	if b, err := tc.nodes[2].GetBucket(ctx, "late"); err != nil || b.Versioning != store.VersioningEnabled {
		t.Fatalf("get bucket on the returning node: %+v %v", b, err)
	}
	// …and stored there after healing.
	tc.healAll()
	if b, err := tc.stores[2].GetBucket(ctx, "late"); err != nil || b.Versioning != store.VersioningEnabled {
		t.Fatalf("healed bucket: %+v %v", b, err)
	}
	if doc, err := tc.stores[2].GetBucketConfig(ctx, "early", "cors"); err != nil || string(doc) != "new" {
		t.Fatalf("healed config: %q %v", doc, err)
	}
	if _, err := tc.stores[2].GetBucketConfig(ctx, "early", "policy"); !errors.Is(err, store.ErrNoSuchConfig) {
		t.Fatalf("deleted config after healing: %v", err)
	}
	if _, err := tc.stores[0].GetBucket(ctx, "stray"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("a bucket only one member holds survived healing: %v", err)
	}
}

func TestMultipartWithNodeDown(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	up, err := tc.nodes[0].CreateMultipartUpload(ctx, "b", "mp", store.ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	p1 := strings.Repeat("x", 200)
	pi1, err := tc.nodes[1].UploadPart(ctx, "b", "mp", up.UploadID, 1, strings.NewReader(p1), 200, store.PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc.stop(2) // misses part 2
	pi2, err := tc.nodes[0].UploadPart(ctx, "b", "mp", up.UploadID, 2, strings.NewReader("end"), 3, store.PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc.restart(2)
	info, err := tc.nodes[2].CompleteMultipartUpload(ctx, "b", "mp", up.UploadID,
		[]store.CompletePart{{Number: 1, ETag: pi1.ETag}, {Number: 2, ETag: pi2.ETag}}, store.CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc.healAll()
	if got := tc.holders("b", "mp", internalOf(info)); got != 3 {
		t.Fatalf("completed object on %d nodes", got)
	}
	for _, nd := range tc.nodes {
		mustGet(t, nd, "b", "mp", p1+"end")
		_, got, err := get(t, nd, "b", "mp", store.GetOptions{PartNumber: 2})
		if err != nil || got != "end" {
			t.Fatalf("part 2 via %s: %q %v", nd.id, got, err)
		}
	}
	lu, err := tc.nodes[0].ListMultipartUploads(ctx, "b", store.ListUploadsOptions{MaxUploads: 10})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads left: %+v %v", lu, err)
	}
}

// A permanently deleted version is not resurrected by a replica that
// missed the delete.
func TestTombstones(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	if err := tc.nodes[0].SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v1 := put(t, tc.nodes[0], "b", "k", "one")
	put(t, tc.nodes[0], "b", "k", "two")
	tc.stop(2)
	if _, err := tc.nodes[0].DeleteObject(ctx, "b", "k", store.DeleteOptions{VersionID: v1.VersionID}); err != nil {
		t.Fatal(err)
	}
	tc.restart(2)
	// Before healing, listings and reads already leave the removed version
	// out.
	for _, nd := range tc.nodes {
		lv, err := nd.ListObjectVersions(ctx, "b", store.ListVersionsOptions{MaxKeys: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(lv.Versions) != 1 || lv.Versions[0].VersionID == v1.VersionID || !lv.Versions[0].IsLatest {
			t.Fatalf("versions via %s: %+v", nd.id, lv.Versions)
		}
		if _, _, err := get(t, nd, "b", "k", store.GetOptions{VersionID: v1.VersionID}); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("removed version via %s: %v", nd.id, err)
		}
	}
	tc.healAll()
	if got := tc.holders("b", "k", v1.VersionID); got != 0 {
		t.Fatalf("deleted version on %d nodes after heal", got)
	}
}

// A replica that stops reading a streamed body is dropped after
// StallTimeout; the write completes on the others.
func TestStalledReplica(t *testing.T) {
	tc := startCluster(t, 3, func(i int, c *Config) { c.StallTimeout = 200 * time.Millisecond })
	mustCreate(t, tc.nodes[0], "b")
	tc.net.setFail(func(ctx context.Context, from, to, op string) error {
		if to == "n2" && strings.HasSuffix(op, "PrepareRequest") {
			<-ctx.Done() // hangs without reading the body
			return ctx.Err()
		}
		return nil
	})
	body := strings.Repeat("z", 3<<20)
	info := put(t, tc.nodes[0], "b", "big", body)
	tc.net.setFail(nil)
	if got := tc.holders("b", "big", internalOf(info)); got != 2 {
		t.Fatalf("written to %d replicas", got)
	}
	mustGet(t, tc.nodes[1], "b", "big", body)
	tc.healAll()
	if got := tc.holders("b", "big", internalOf(info)); got != 3 {
		t.Fatalf("after heal on %d replicas", got)
	}
}

// Sixteen clients write and read through all nodes while one node dies:
// every acknowledged write is readable afterwards from every survivor.
func TestConcurrentClientsNodeLoss(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	nodes := append([]*Node(nil), tc.nodes...)
	type ack struct{ key, body string }
	acks := make(chan ack, 1000)
	errs := make(chan error, 16)
	stopAt := make(chan struct{})
	done := make(chan struct{})
	for c := range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 12 {
				if i == 4 && c == 0 {
					close(stopAt)
				}
				nd := nodes[(c+i)%2] // nodes 0 and 1 survive
				key := fmt.Sprintf("c%d/%d", c, i%5)
				body := fmt.Sprintf("client %d write %d", c, i)
				_, err := nd.PutObject(ctx, "b", key, strings.NewReader(body), int64(len(body)), store.PutOptions{})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", key, err)
					return
				}
				acks <- ack{key, body}
				_, rc, err := nd.GetObject(ctx, "b", key, store.GetOptions{})
				if err != nil {
					errs <- fmt.Errorf("get %s: %w", key, err)
					return
				}
				rc.Close()
			}
		}()
	}
	<-stopAt
	tc.stop(2)
	for range 16 {
		<-done
	}
	close(acks)
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	last := map[string]string{}
	for a := range acks {
		last[a.key] = a.body // each client writes its own keys in order
	}
	for key, body := range last {
		for _, nd := range tc.nodes[:2] {
			mustGet(t, nd, "b", key, body)
		}
	}
}

// Concurrent overwrites of one key through every coordinator converge:
// every replica and every node agree on the latest version.
func TestConcurrentOverwritesConverge(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	done := make(chan error, 30)
	for i := range 30 {
		go func() {
			body := fmt.Sprint("w", i)
			_, err := tc.nodes[i%3].PutObject(ctx, "b", "hot", strings.NewReader(body), int64(len(body)), store.PutOptions{})
			done <- err
		}()
	}
	for range 30 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	tc.healAll()
	var want string
	for i, nd := range tc.nodes {
		info, body, err := get(t, nd, "b", "hot", store.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = body
		} else if body != want {
			t.Fatalf("%s reads %q, node 0 %q", nd.id, body, want)
		}
		vs := tc.localVersions(i, "b", "hot")
		if len(vs) != 1 || internalOf(vs[0]) != internalOf(info) {
			t.Fatalf("replica %d holds %+v, latest is %s", i, vs, internalOf(info))
		}
	}
}

func TestRemoveLastMemberRefused(t *testing.T) {
	tc := startCluster(t, 1)
	if err := tc.nodes[0].Remove(context.Background(), "n0"); err == nil {
		t.Fatal("removing the only member was accepted")
	}
}

// Four nodes split two and two: for each key only the side holding two of
// its three replicas can write it; after the partition heals every key
// shows the write that was acknowledged, and no refused write anywhere.
func TestPartitionFourNodes(t *testing.T) {
	tc := startCluster(t, 4)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	for i := range 20 {
		put(t, tc.nodes[0], "b", fmt.Sprint("k", i), "orig")
	}
	tc.net.partition([]string{"n0", "n1"}, []string{"n2", "n3"})
	want := map[string]string{}
	refused := map[string]bool{}
	for i := range 20 {
		key := fmt.Sprint("k", i)
		want[key] = "orig"
		for _, side := range []int{0, 2} {
			body := fmt.Sprintf("side%d", side)
			_, err := tc.nodes[side].PutObject(ctx, "b", key, strings.NewReader(body), int64(len(body)), store.PutOptions{})
			switch {
			case err == nil:
				want[key] = body
			case errors.Is(err, store.ErrUnavailable):
				refused[key+"/"+body] = true
			default:
				t.Fatal(err)
			}
		}
		if want[key] == "orig" {
			t.Fatalf("%s: neither side could write", key)
		}
	}
	tc.net.healAll()
	tc.healAll()
	for key, body := range want {
		for i, nd := range tc.nodes {
			mustGet(t, nd, "b", key, body)
			for _, v := range tc.localVersions(i, "b", key) {
				for _, body := range []string{"side0", "side2"} {
					if refused[key+"/"+body] && v.ETag == md5hex(body) {
						t.Fatalf("refused write of %s found on %s", key, nd.id)
					}
				}
			}
		}
		if got := tc.holders("b", key, ""); got != 3 {
			t.Fatalf("%s on %d nodes", key, got)
		}
	}
}

// An upload started before a node joins completes afterwards, and the copy
// left on the member that no longer owns the key neither shows in listings
// nor survives healing.
func TestUploadAcrossJoin(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	// Find a key the fourth node will own.
	probe := append(tc.nodes[0].activeMembers(), Member{ID: "n3", State: stateActive})
	var ids []string
	for _, m := range probe {
		ids = append(ids, m.ID)
	}
	key := ""
	for i := 0; key == ""; i++ {
		k := fmt.Sprint("up", i)
		for _, id := range rank(ids, "b", k, 3) {
			if id == "n3" {
				key = k
			}
		}
	}
	up, err := tc.nodes[0].CreateMultipartUpload(ctx, "b", key, store.ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	tc.addNode()
	pi, err := tc.nodes[1].UploadPart(ctx, "b", key, up.UploadID, 1, strings.NewReader("data"), 4, store.PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[3].CompleteMultipartUpload(ctx, "b", key, up.UploadID, []store.CompletePart{{Number: 1, ETag: pi.ETag}}, store.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, nd := range tc.nodes {
		mustGet(t, nd, "b", key, "data")
		lu, err := nd.ListMultipartUploads(ctx, "b", store.ListUploadsOptions{MaxUploads: 10})
		if err != nil || len(lu.Uploads) != 0 {
			t.Fatalf("uploads via %s: %+v %v", nd.id, lu.Uploads, err)
		}
	}
	tc.healAll()
	for i := range tc.nodes {
		lu, err := tc.stores[i].ListMultipartUploads(ctx, "b", store.ListUploadsOptions{MaxUploads: 10})
		if err != nil || len(lu.Uploads) != 0 {
			t.Fatalf("node %d still holds %+v %v", i, lu.Uploads, err)
		}
	}
	if got := tc.holders("b", key, ""); got != 3 {
		t.Fatalf("completed object on %d nodes", got)
	}
}

// Tag changes carry the coordinator's clock: a replica that missed one is
// outvoted on read, repaired, and never undoes a newer change it already
// holds when an older one arrives late.
func TestTagChangesOrderedAndHealed(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	v := put(t, tc.nodes[0], "b", "k", "x")
	if _, err := tc.nodes[0].SetObjectTags(ctx, "b", "k", "", map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	tc.stop(2)
	if _, err := tc.nodes[0].SetObjectTags(ctx, "b", "k", "", map[string]string{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	tc.restart(2)
	// Node 2 asks itself first: it must not answer with its stale tags.
	for i := range 3 {
		h, err := tc.nodes[2].HeadObject(ctx, "b", "k", store.GetOptions{})
		if err != nil || h.Tags["v"] != "2" {
			t.Fatalf("read %d through the stale node: tags %v, %v", i, h.Tags, err)
		}
	}
	waitFor(t, "tag repair", func() bool {
		vs := tc.localVersions(2, "b", "k")
		return len(vs) == 1 && vs[0].TagsStamp > 0 && tc.localTags(t, 2, "b", "k")["v"] == "2"
	})
	// A stale change arriving late is ignored by a replica.
	st := tc.nodes[1].st
	cur, err := st.HeadObject(ctx, "b", "k", store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetObjectTagsAt(ctx, "b", "k", internalOf(v), map[string]string{"v": "old"}, cur.TagsStamp-1); err != nil {
		t.Fatal(err)
	}
	if got := tc.localTags(t, 1, "b", "k"); got["v"] != "2" {
		t.Fatalf("a late older change replaced the tags: %v", got)
	}
	// Tag removal is a change like any other.
	if _, err := tc.nodes[1].SetObjectTags(ctx, "b", "k", "", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h, err := tc.nodes[i].HeadObject(ctx, "b", "k", store.GetOptions{})
		if err != nil || len(h.Tags) != 0 {
			t.Fatalf("node %d after removal: tags %v, %v", i, h.Tags, err)
		}
	}
}

// localTags returns the tags of key's latest version in node i's store.
func (tc *testCluster) localTags(t *testing.T, i int, bucket, key string) map[string]string {
	t.Helper()
	h, err := tc.nodes[i].st.HeadObject(context.Background(), bucket, key, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h.Tags
}

// Just after a join, the two replicas a read asks first can both lack a
// write that was acknowledged before it (one new owner that holds nothing
// yet, one old owner that missed the write): the read asks the remaining
// owner before answering NoSuchKey.
func TestReadAfterJoinFindsWriteOnRemainingOwner(t *testing.T) {
	tc := startCluster(t, 3)
	mustCreate(t, tc.nodes[0], "b")
	tc.stop(2)
	const keys = 60
	for i := range keys {
		put(t, tc.nodes[i%2], "b", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	tc.restart(2)
	tc.addNode() // n3: no heal has run, so it holds nothing
	checked := 0
	for i := range keys {
		key := fmt.Sprint("k", i)
		p := tc.nodes[2].place("b", key)
		// n2 asks itself and the first other owner: look for keys where
		// that is the new node, and an old holder is still an owner.
		var firstOther string
		for _, m := range p.nodes {
			if m.ID != "n2" {
				firstOther = m.ID
				break
			}
		}
		inList := map[string]bool{}
		for _, m := range p.nodes {
			inList[m.ID] = true
		}
		if !inList["n2"] || firstOther != "n3" {
			continue
		}
		checked++
		mustGet(t, tc.nodes[2], "b", key, fmt.Sprint("v", i))
	}
	if checked == 0 {
		t.Fatal("no key placed to exercise the case; use more keys")
	}
	t.Logf("%d keys read through a stale owner and the new node", checked)
}

// A bucket created while the cluster had two members, which two more
// joined before any pass spread it, is held by a minority: with objects in
// it, it is live and spreads (an empty one would be taken for the leftover
// of a deletion), and its keys reach their replicas on the new members.
func TestMinorityBucketWithObjectsSpreads(t *testing.T) {
	tc := startCluster(t, 2, func(i int, c *Config) { c.HealInterval = time.Hour })
	mustCreate(t, tc.nodes[0], "b")
	put(t, tc.nodes[0], "b", "k", "v")
	tc.addNode(func(i int, c *Config) { c.HealInterval = time.Hour })
	tc.addNode(func(i int, c *Config) { c.HealInterval = time.Hour })
	for range 2 {
		for _, nd := range tc.nodes {
			if err := nd.HealNow(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range tc.nodes {
		if _, err := tc.stores[i].GetBucket(context.Background(), "b"); err != nil {
			t.Fatalf("%s: %v", tc.nodes[i].id, err)
		}
	}
	if got := tc.holders("b", "k", ""); got != 3 {
		t.Fatalf("k on %d replicas", got)
	}
}
