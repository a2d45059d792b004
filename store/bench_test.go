package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
)

// Run with: go test ./store -run '^$' -bench . -benchtime 2s
// (setup runs once per benchmark: b.Loop).

func BenchmarkGetLatest(b *testing.B) {
	for _, versions := range []int{1, 10000} {
		b.Run(fmt.Sprintf("versions=%d", versions), func(b *testing.B) {
			s := newTestStore(b)
			mustBucket(b, s, "b", VersioningEnabled)
			data := randBytes(100, 1)
			for range versions {
				mustPut(b, s, "b", "k", data, PutOptions{})
			}
			ctx := context.Background()
			for b.Loop() {
				_, rc, err := s.GetObject(ctx, "b", "k", GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, rc)
				rc.Close()
			}
		})
	}
}

func BenchmarkHeadLatest(b *testing.B) {
	for _, versions := range []int{1, 10000} {
		b.Run(fmt.Sprintf("versions=%d", versions), func(b *testing.B) {
			s := newTestStore(b)
			mustBucket(b, s, "b", VersioningEnabled)
			for range versions {
				mustPut(b, s, "b", "k", []byte("x"), PutOptions{})
			}
			ctx := context.Background()
			for b.Loop() {
				if _, err := s.HeadObject(ctx, "b", "k", GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPut4KiB(b *testing.B) {
	for _, tc := range []struct{ inline, sync bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		b.Run(fmt.Sprintf("inline=%v/fsync=%v", tc.inline, tc.sync), func(b *testing.B) {
			s := newTestStore(b, func(c *Config) {
				c.InlineThreshold = 128 << 10
				if !tc.inline {
					c.InlineThreshold = -1
				}
				c.NoSync = !tc.sync
			})
			mustBucket(b, s, "b", VersioningOff)
			data := randBytes(4096, 1)
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			i := 0
			for b.Loop() {
				i++
				if _, err := s.PutObject(ctx, "b", fmt.Sprintf("k%d", i%1000), bytes.NewReader(data), 4096, PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompleteMultipart(b *testing.B) {
	for _, parts := range []int{1, 1000} {
		b.Run(fmt.Sprintf("parts=%d", parts), func(b *testing.B) {
			s := newTestStore(b, func(c *Config) { c.MinPartSize = 1 })
			mustBucket(b, s, "b", VersioningOff)
			ctx := context.Background()
			n := 0
			for b.Loop() {
				b.StopTimer()
				n++
				key := fmt.Sprintf("k%d", n) // a new key: no replaced version to remove
				up, err := s.CreateMultipartUpload(ctx, "b", key, ObjectMeta{})
				if err != nil {
					b.Fatal(err)
				}
				cps := make([]CompletePart, parts)
				for i := range cps {
					pi, err := s.UploadPart(ctx, "b", key, up.UploadID, i+1, bytes.NewReader([]byte{byte(i)}), 1, PartOptions{})
					if err != nil {
						b.Fatal(err)
					}
					cps[i] = CompletePart{Number: i + 1, ETag: pi.ETag}
				}
				b.StartTimer()
				if _, err := s.CompleteMultipartUpload(ctx, "b", key, up.UploadID, cps, CompleteOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListSparsePrefix lists a prefix holding 5 keys next to 20,000
// others, and a delimited top level that rolls those 20,000 into one
// common prefix: both must cost the same as in a tiny bucket.
func BenchmarkListSparsePrefix(b *testing.B) {
	s := newTestStore(b)
	mustBucket(b, s, "b", VersioningOff)
	for i := range 20000 {
		mustPut(b, s, "b", fmt.Sprintf("a/%05d", i), nil, PutOptions{})
	}
	for i := range 5 {
		mustPut(b, s, "b", fmt.Sprintf("b/%d", i), nil, PutOptions{})
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts ListOptions
		n    int
	}{
		{"prefix=b/", ListOptions{Prefix: "b/", MaxKeys: 1000}, 5},
		{"delimiter=/", ListOptions{Delimiter: "/", MaxKeys: 1000}, 2},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.ListObjects(ctx, "b", tc.opts)
				if err != nil || len(res.Objects)+len(res.CommonPrefixes) != tc.n {
					b.Fatalf("%+v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkListAfterDeletes lists a versioned bucket of 20,000 keys of which
// all but 5 were deleted (their latest version is a delete marker): the
// listing must cost what a listing of 5 keys costs, not a walk over 20,000.
// "fresh" lists right after the deletes, with their records still in the
// memtable; "compacted" after a reopen and a full compaction, the state a
// store settles in.
func BenchmarkListAfterDeletes(b *testing.B) {
	cfg := DefaultConfig(b.TempDir())
	cfg.NoSync, cfg.GCInterval = true, 0
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { s.Close() }()
	mustBucket(b, s, "b", VersioningEnabled)
	const kept = 5
	deleteAllBut(b, s, "b", 20000, kept)
	ctx := context.Background()
	for _, state := range []string{"fresh", "compacted"} {
		if state == "compacted" {
			s.Close()
			if s, err = Open(cfg); err != nil {
				b.Fatal(err)
			}
			if err := s.db.Flatten(1); err != nil {
				b.Fatal(err)
			}
		}
		for _, max := range []int{1000, 1} {
			b.Run(fmt.Sprintf("%s/max-keys=%d", state, max), func(b *testing.B) {
				before := s.listSteps.Load()
				n := int64(0)
				for b.Loop() {
					n++
					res, err := s.ListObjects(ctx, "b", ListOptions{Prefix: "d/", MaxKeys: max})
					if err != nil || len(res.Objects) != min(max, kept) {
						b.Fatalf("%+v %v", res, err)
					}
				}
				b.ReportMetric(float64(s.listSteps.Load()-before)/float64(n), "records/op")
			})
		}
	}
}

// BenchmarkPut4KiBParallel is the server's small-PUT path under load: 16
// writers, fsync on, overwriting 128 keys (as scripts/bench does), so
// commits are grouped.
func BenchmarkPut4KiBParallel(b *testing.B) {
	s := newTestStore(b, func(c *Config) {
		c.InlineThreshold = 128 << 10
		c.NoSync = false
	})
	mustBucket(b, s, "b", VersioningOff)
	data := randBytes(4096, 1)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	var n atomic.Int64
	b.SetParallelism(8) // 16 writers on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.PutObject(ctx, "b", fmt.Sprintf("k%d", i%128), bytes.NewReader(data), 4096, PutOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRangedGetMultipart reads small ranges of a 64-part object, as
// clients that download in ranges do: the cost is dominated by the
// version record (64 parts) unless it comes from the record cache.
func BenchmarkRangedGetMultipart(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	mustBucket(b, s, "b", VersioningEnabled)
	up, err := s.CreateMultipartUpload(ctx, "b", "k", ObjectMeta{})
	if err != nil {
		b.Fatal(err)
	}
	var cps []CompletePart
	for i := 0; i < 64; i++ {
		p := randBytes(64<<10, uint64(i))
		pi, err := s.UploadPart(ctx, "b", "k", up.UploadID, i+1, bytes.NewReader(p), int64(len(p)), PartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cps = append(cps, CompletePart{Number: i + 1, ETag: pi.ETag})
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{}); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		_, rc, err := s.GetObject(ctx, "b", "k", GetOptions{Range: &Range{Start: int64(i%60) << 16, Length: 4096}})
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
}
