package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

func TestWireErrors(t *testing.T) {
	for name, sentinel := range wireErrors {
		t.Run(name, func(t *testing.T) {
			wrapped := fmt.Errorf("bucket/key: %w", sentinel)
			got := decodeError("n1", encodeError(wrapped))
			if !errors.Is(got, sentinel) {
				t.Fatalf("%v decoded as %v", wrapped, got)
			}
			if got.Error() == sentinel.Error() {
				t.Fatalf("remote context lost: %v", got)
			}
			if bare := decodeError("n1", encodeError(sentinel)); bare != sentinel {
				t.Fatalf("bare sentinel decoded as %v", bare)
			}
		})
	}
	other := decodeError("n1", encodeError(errors.New("disk on fire")))
	if _, ok := sentinelOf(other); ok || definitive(other) {
		t.Fatalf("unknown error decoded as a sentinel: %v", other)
	}
	if definitive(fmt.Errorf("%w: x", errUnreachable)) || !definitive(store.ErrNoSuchKey) || definitive(context.Canceled) {
		t.Fatal("definitive misclassifies")
	}
}

func TestTombstoneIndex(t *testing.T) {
	path := t.TempDir() + "/t.jsonl"
	ts, err := openTombstones(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, k := range []string{"a", "ab", "abc", "b", "c/1", "c/2"} {
		ts.add(Tombstone{Bucket: "bk", Key: k, ID: "id-" + k, At: now})
	}
	ts.add(Tombstone{Bucket: "old", Key: "x", ID: "1", At: now.Add(-2 * time.Hour)})
	keys := func(tt []Tombstone) (out []string) {
		for _, x := range tt {
			out = append(out, x.Key)
		}
		return out
	}
	cases := []struct {
		prefix, after, through string
		want                   []string
	}{
		{"", "", "", []string{"a", "ab", "abc", "b", "c/1", "c/2"}},
		{"", "a", "b", []string{"ab", "abc", "b"}},
		{"ab", "", "", []string{"ab", "abc"}},
		{"ab", "", "ab", []string{"ab"}},
		{"c/", "c/1", "", []string{"c/2"}},
		{"z", "", "", nil},
	}
	for _, c := range cases {
		if got := keys(ts.inRange("bk", c.prefix, c.after, c.through)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("inRange(%q, %q, %q) = %v, want %v", c.prefix, c.after, c.through, got, c.want)
		}
	}
	ts.close()
	// Reopening drops expired entries and keeps the rest.
	ts, err = openTombstones(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.close()
	if !ts.has("bk", "abc", "id-abc") || ts.has("old", "x", "1") {
		t.Fatal("reopened tombstones wrong")
	}
}

// A client body that fails at its end (a checksum verified at EOF) makes
// the write fail and leaves nothing behind, on one node and on three.
func TestBodyErrorAtEOF(t *testing.T) {
	for _, size := range []int{1, 3} {
		tc := startCluster(t, size)
		nd := tc.nodes[0]
		mustCreate(t, nd, "b")
		bad := errors.New("checksum mismatch at the end")
		for _, n := range []int{10, 300 << 10} {
			body := io.MultiReader(strings.NewReader(strings.Repeat("x", n)), errReader{bad})
			_, err := nd.PutObject(context.Background(), "b", "k", body, int64(n), store.PutOptions{})
			if !errors.Is(err, bad) {
				t.Fatalf("%d nodes, %d bytes: %v", size, n, err)
			}
			if _, err := nd.HeadObject(context.Background(), "b", "k", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
				t.Fatalf("%d nodes, %d bytes: the failed write is visible: %v", size, n, err)
			}
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
