package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

// testCluster is n nodes in one process on a memNetwork.
type testCluster struct {
	t      *testing.T
	net    *memNetwork
	nodes  []*Node
	stores []*store.Store
	dirs   []string
	cfgs   []Config
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	cfg := store.DefaultConfig(dir)
	cfg.NoSync = true
	cfg.MinPartSize = 100
	cfg.GCInterval = 0
	cfg.MemTableSize = 2 << 20 // many small stores per test process
	cfg.BlockCacheSize = 1 << 20
	st, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testConfig(dir, id string) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.DataDir = dir
	cfg.HealInterval = -1 // tests run passes with HealNow
	cfg.Secret = "test-secret"
	return cfg
}

// startCluster starts n nodes that all know each other.
func startCluster(t *testing.T, n int, tweak ...func(i int, c *Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, net: newMemNetwork()}
	for i := 0; i < n; i++ {
		tc.addNode(tweak...)
	}
	t.Cleanup(tc.close)
	return tc
}

// addNode starts one more node and introduces it to the others.
func (tc *testCluster) addNode(tweak ...func(i int, c *Config)) *Node {
	t := tc.t
	t.Helper()
	i := len(tc.nodes)
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "cluster"), fmt.Sprintf("n%d", i))
	for _, f := range tweak {
		f(i, &cfg)
	}
	st := openStore(t, filepath.Join(dir, "store"))
	nd, err := newNode(cfg, st, tc.net.options())
	if err != nil {
		t.Fatal(err)
	}
	tc.nodes = append(tc.nodes, nd)
	tc.stores = append(tc.stores, st)
	tc.dirs = append(tc.dirs, dir)
	tc.cfgs = append(tc.cfgs, cfg)
	tc.introduce()
	return nd
}

// introduce makes every running node know every other (what gossip does).
func (tc *testCluster) introduce() {
	var all []Member
	for _, nd := range tc.nodes {
		if nd != nil {
			all = append(all, nd.reg.list()...)
		}
	}
	for _, nd := range tc.nodes {
		if nd != nil {
			nd.reg.merge(all)
		}
	}
}

// stop takes node i down (process death: its staged writes are lost).
func (tc *testCluster) stop(i int) {
	tc.net.setDown(tc.nodes[i].id, true)
	tc.nodes[i].Close()
	tc.stores[i].Close()
	tc.nodes[i] = nil
}

// restart brings node i back on its old data.
func (tc *testCluster) restart(i int) *Node {
	t := tc.t
	st := openStore(t, filepath.Join(tc.dirs[i], "store"))
	nd, err := newNode(tc.cfgs[i], st, tc.net.options())
	if err != nil {
		t.Fatal(err)
	}
	tc.nodes[i], tc.stores[i] = nd, st
	return nd
}

func (tc *testCluster) close() {
	for i, nd := range tc.nodes {
		if nd != nil {
			nd.Close()
			tc.stores[i].Close()
		}
	}
}

// healAll runs anti-entropy on every running node, twice (a second pass
// sees what the first one moved).
func (tc *testCluster) healAll() {
	tc.t.Helper()
	for range 2 {
		for _, nd := range tc.nodes {
			if nd != nil {
				if err := nd.HealNow(context.Background()); err != nil {
					tc.t.Fatalf("heal %s: %v", nd.id, err)
				}
			}
		}
	}
}

func put(t *testing.T, nd *Node, bucket, key, body string) store.ObjectInfo {
	t.Helper()
	info, err := nd.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte(body)), int64(len(body)), store.PutOptions{})
	if err != nil {
		t.Fatalf("put %s/%s via %s: %v", bucket, key, nd.id, err)
	}
	return info
}

func get(t *testing.T, nd *Node, bucket, key string, opts store.GetOptions) (store.ObjectInfo, string, error) {
	t.Helper()
	info, rc, err := nd.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		return info, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return info, string(b), err
}

func mustGet(t *testing.T, nd *Node, bucket, key, want string) store.ObjectInfo {
	t.Helper()
	info, got, err := get(t, nd, bucket, key, store.GetOptions{})
	if err != nil {
		t.Fatalf("get %s/%s via %s: %v", bucket, key, nd.id, err)
	}
	if got != want {
		t.Fatalf("get %s/%s via %s = %q, want %q", bucket, key, nd.id, got, want)
	}
	return info
}

// localVersions lists the versions node i's own store holds for key.
func (tc *testCluster) localVersions(i int, bucket, key string) []store.ObjectInfo {
	tc.t.Helper()
	r, err := tc.stores[i].ListObjectVersions(context.Background(), bucket, store.ListVersionsOptions{Prefix: key, MaxKeys: 1000})
	if err != nil {
		tc.t.Fatal(err)
	}
	var out []store.ObjectInfo
	for _, v := range r.Versions {
		if v.Key == key {
			out = append(out, v)
		}
	}
	return out
}
