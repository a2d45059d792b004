package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

func sha256b64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// An upload's checksum algorithm travels with its record to every replica;
// each replica completes the upload with the same composite checksum, and
// UploadInfo answers from the first replica that has the record.
func TestMultipartChecksumAcrossNodes(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	up, err := tc.nodes[0].CreateMultipartUpload(ctx, "b", "mp", store.ObjectMeta{ChecksumAlgorithm: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Meta.ChecksumType != store.ChecksumComposite {
		t.Fatalf("created upload: %+v", up.Meta)
	}
	for i, nd := range tc.nodes {
		got, err := nd.UploadInfo(ctx, "b", "mp", up.UploadID)
		if err != nil || got.Meta.ChecksumAlgorithm != "sha256" || got.Meta.ChecksumType != store.ChecksumComposite {
			t.Fatalf("UploadInfo through node %d: %+v, %v", i, got.Meta, err)
		}
	}
	if _, err := tc.nodes[1].UploadInfo(ctx, "b", "mp", "0123456789abcdef0123456789abcdef"); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("UploadInfo of an unknown upload: %v, want ErrNoSuchUpload", err)
	}

	parts := [][]byte{[]byte(strings.Repeat("x", 200)), []byte("end")}
	var cps []store.CompletePart
	all := sha256.New()
	for i, p := range parts {
		sums := map[string]string{"sha256": sha256b64(p)}
		pi, err := tc.nodes[i+1].UploadPart(ctx, "b", "mp", up.UploadID, i+1, strings.NewReader(string(p)), int64(len(p)),
			store.PartOptions{Checksums: sums})
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(p)
		all.Write(d[:])
		cps = append(cps, store.CompletePart{Number: i + 1, ETag: pi.ETag, Checksums: sums})
	}
	want := base64.StdEncoding.EncodeToString(all.Sum(nil)) + "-2"
	info, err := tc.nodes[2].CompleteMultipartUpload(ctx, "b", "mp", up.UploadID, cps,
		store.CompleteOptions{Checksums: map[string]string{"sha256": want}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Checksums["sha256"] != want {
		t.Fatalf("completed: checksums %v, want %s", info.Checksums, want)
	}
	for i, st := range tc.stores {
		v, err := st.HeadObject(ctx, "b", "mp", store.GetOptions{})
		if err != nil || v.Checksums["sha256"] != want {
			t.Errorf("replica %d: checksums %v, %v; want %s", i, v.Checksums, err, want)
		}
	}

	// With a replica down, the others still answer.
	up2, err := tc.nodes[0].CreateMultipartUpload(ctx, "b", "mp2", store.ObjectMeta{ChecksumAlgorithm: "crc32", ChecksumType: store.ChecksumFullObject})
	if err != nil {
		t.Fatal(err)
	}
	tc.stop(2)
	got, err := tc.nodes[1].UploadInfo(ctx, "b", "mp2", up2.UploadID)
	if err != nil || got.Meta.ChecksumAlgorithm != "crc32" || got.Meta.ChecksumType != store.ChecksumFullObject {
		t.Fatalf("UploadInfo with a replica down: %+v, %v", got.Meta, err)
	}
}

// The parts of an upload after its first cost UploadInfo no round trip: the
// record is read once per node, and a part of an upload that was completed
// meanwhile is still refused (by the replicas) with NoSuchUpload.
func TestUploadInfoReadOnce(t *testing.T) {
	tc := startCluster(t, 3)
	ctx := context.Background()
	mustCreate(t, tc.nodes[0], "b")
	up, err := tc.nodes[0].CreateMultipartUpload(ctx, "b", "mp", store.ObjectMeta{ChecksumAlgorithm: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	tc.net.setFail(func(_ context.Context, from, to, op string) error {
		if from == "n1" && strings.HasSuffix(op, "UploadRequest") {
			mu.Lock()
			calls++
			mu.Unlock()
		}
		return nil
	})
	for range 5 {
		got, err := tc.nodes[1].UploadInfo(ctx, "b", "mp", up.UploadID)
		if err != nil || got.Meta.ChecksumAlgorithm != "sha256" {
			t.Fatalf("UploadInfo: %+v, %v", got.Meta, err)
		}
	}
	mu.Lock()
	first := calls
	mu.Unlock()
	if first > 2 {
		t.Fatalf("5 reads of one upload's record made %d calls to other nodes, want at most one round", first)
	}
	if err := tc.nodes[0].AbortMultipartUpload(ctx, "b", "mp", up.UploadID); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[1].UploadInfo(ctx, "b", "mp", up.UploadID); err != nil {
		t.Fatalf("a cached record: %v", err)
	}
	_, err = tc.nodes[1].UploadPart(ctx, "b", "mp", up.UploadID, 1, strings.NewReader("x"), 1, store.PartOptions{})
	if !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("a part of an aborted upload: %v, want ErrNoSuchUpload", err)
	}
}
