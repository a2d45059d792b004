package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

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
