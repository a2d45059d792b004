package cluster

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

func TestReadyFollowsWriteQuorum(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	n0 := tc.nodes[0]
	if err := n0.Ready(ctx); err != nil {
		t.Fatalf("all up: %v", err)
	}
	tc.net.setDown("n2", true)
	if err := n0.Ready(ctx); err != nil {
		t.Fatalf("one of three down, W=2 still reachable: %v", err)
	}
	tc.net.setDown("n1", true)
	err := n0.Ready(ctx)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "quorum") {
		t.Fatalf("two of three down: got %v, want ErrNotReady (quorum)", err)
	}
	tc.net.setDown("n1", false)
	tc.net.setDown("n2", false)
	if err := n0.Ready(ctx); err != nil {
		t.Fatalf("back up: %v", err)
	}
	states := n0.MemberStates()
	if len(states) != 3 || states[0].State != Alive || states[0].Lifecycle != stateActive {
		t.Fatalf("MemberStates = %+v", states)
	}
}

func TestScrubRepairsFromAnotherReplica(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	n0 := tc.nodes[0]
	if err := n0.CreateBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB: a data file
	put(t, n0, "b", "k", body)
	tc.healAll()

	var files []string
	root := filepath.Join(tc.dirs[0], "store", "data")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("want one data file on n0, got %v", files)
	}
	flipByte(t, files[0], 1000)

	rep, err := n0.Scrub(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 1 || rep.Bad[0].Key != "k" || !rep.Bad[0].Repaired {
		t.Fatalf("scrub report %+v, want k repaired", rep)
	}
	_, rc, err := tc.stores[0].GetObject(ctx, "b", "k", store.GetOptions{})
	if err != nil {
		t.Fatalf("local read after repair: %v", err)
	}
	rc.Close()
	rep, err = n0.Scrub(ctx)
	if err != nil || len(rep.Bad) != 0 {
		t.Fatalf("second scrub: %+v, %v", rep, err)
	}
	mustGet(t, n0, "b", "k", body)
}

func TestScrubReportsWithoutReplica(t *testing.T) {
	tc := startCluster(t, 1)
	ctx := context.Background()
	n0 := tc.nodes[0]
	if err := n0.CreateBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	put(t, n0, "b", "k", strings.Repeat("x", 200<<10))
	var file string
	filepath.WalkDir(filepath.Join(tc.dirs[0], "store", "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			file = p
		}
		return nil
	})
	flipByte(t, file, 10)
	rep, err := n0.Scrub(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 1 || rep.Bad[0].Repaired || rep.Bad[0].RepairError == "" {
		t.Fatalf("report %+v, want one unrepaired finding", rep)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
