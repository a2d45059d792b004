package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Benchmarks of the object layer over the in-memory transport (no HTTP):
// what replication itself costs. Run with
//
//	go test -run - -bench . -benchtime 200x ./cluster/
func BenchmarkPut(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		for _, size := range []int{4 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("nodes=%d/size=%d", nodes, size), func(b *testing.B) {
				nds := startBenchNodes(b, nodes)
				body := bytes.Repeat([]byte("x"), size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := range b.N {
					nd := nds[i%nodes]
					if _, err := nd.PutObject(context.Background(), "b", fmt.Sprint("k", i%100), bytes.NewReader(body), int64(size), store.PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		for _, size := range []int{4 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("nodes=%d/size=%d", nodes, size), func(b *testing.B) {
				nds := startBenchNodes(b, nodes)
				body := bytes.Repeat([]byte("x"), size)
				for i := range 100 {
					if _, err := nds[0].PutObject(context.Background(), "b", fmt.Sprint("k", i), bytes.NewReader(body), int64(size), store.PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := range b.N {
					_, rc, err := nds[i%nodes].GetObject(context.Background(), "b", fmt.Sprint("k", i%100), store.GetOptions{})
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, rc)
					rc.Close()
				}
			})
		}
	}
}

// startBenchNodes starts nodes on a memNetwork with a bucket "b".
func startBenchNodes(b *testing.B, n int) []*Node {
	b.Helper()
	net := newMemNetwork()
	var nodes []*Node
	for i := range n {
		dir := b.TempDir()
		cfg := store.DefaultConfig(dir + "/store")
		cfg.NoSync = true
		st, err := store.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		nd, err := newNode(testConfig(dir+"/cluster", fmt.Sprint("n", i)), st, net.options())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { nd.Close(); st.Close() })
		nodes = append(nodes, nd)
	}
	var all []Member
	for _, nd := range nodes {
		all = append(all, nd.reg.list()...)
	}
	for _, nd := range nodes {
		nd.reg.merge(all)
	}
	if err := nodes[0].CreateBucket(context.Background(), "b"); err != nil {
		b.Fatal(err)
	}
	return nodes
}

// BenchmarkHTTPRPC is one replica call over the real HTTP transport (both
// ends in this process, 16 callers): what each RPC of a replicated request
// costs in CPU.
func BenchmarkHTTPRPC(b *testing.B) {
	a, _ := startHTTPNode(b, "a", "s3cret", nil)
	c, _ := startHTTPNode(b, "c", "s3cret", []string{a.cfg.GossipAddr})
	ctx := context.Background()
	if err := c.st.CreateBucket(ctx, "b"); err != nil {
		b.Fatal(err)
	}
	if _, err := c.st.PutObject(ctx, "b", "k", bytes.NewReader([]byte("v")), 1, store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	m, ok := a.reg.get("c")
	for i := 0; !ok && i < 100; i++ {
		time.Sleep(50 * time.Millisecond)
		m, ok = a.reg.get("c")
	}
	if !ok {
		b.Fatal("c never joined")
	}
	r := a.tr.To(m)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			info, _, err := r.Get(ctx, GetRequest{Bucket: "b", Key: "k", Head: true})
			if err != nil || info.Size != 1 {
				b.Error(info, err)
				return
			}
		}
	})
}
