package fsmount

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
)

func fillBlock(idx int64) func(buf []byte) (int, error) {
	return func(buf []byte) (int, error) {
		for i := range buf {
			buf[i] = byte(idx)
		}
		return len(buf) - int(idx%3), nil // some blocks shorter than the buffer
	}
}

// A sequential scan cycles through a bounded set of buffers.
func TestBlockCacheReusesBuffers(t *testing.T) {
	c := newBlockCache(4, 64)
	bufs := map[*byte]bool{}
	for i := range int64(200) {
		fetch := fillBlock(i)
		b, started := c.get(blockKey{"k", "e", i}, func(buf []byte) (int, error) {
			bufs[&buf[:1][0]] = true
			return fetch(buf)
		}, true)
		if !started || len(b.data) != 64-int(i%3) || !bytes.Equal(b.data, bytes.Repeat([]byte{byte(i)}, len(b.data))) {
			t.Fatalf("block %d: started %v, data %v", i, started, b.data)
		}
		c.release(b)
	}
	if len(bufs) > 5 {
		t.Fatalf("%d distinct buffers for 200 blocks through a cache of 4", len(bufs))
	}
}

// Readers holding a block keep its bytes while it is evicted and its
// neighbours reuse buffers.
func TestBlockCacheConcurrentReaders(t *testing.T) {
	c := newBlockCache(3, 256)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 2000 {
				i := rng.Int64N(12)
				b, _ := c.get(blockKey{"k", "e", i}, fillBlock(i), rng.IntN(2) == 0)
				<-b.ready
				for _, v := range b.data {
					if v != byte(i) {
						t.Errorf("block %d holds byte %d", i, v)
						break
					}
				}
				c.release(b)
			}
		})
	}
	wg.Wait()
	if len(c.free) > 3 {
		t.Fatalf("free list of %d buffers, cap 3", len(c.free))
	}
}

// A block read out to its last byte leaves the cache, and the next fetch
// reuses its buffer; one only partly read stays cached.
func TestBlockCacheReadOutEvicts(t *testing.T) {
	c := newBlockCache(8, 64)
	var first *byte
	b, _ := c.get(blockKey{"k", "e", 0}, func(buf []byte) (int, error) {
		first = &buf[0]
		return fillBlock(0)(buf)
	}, true)
	c.readOut(b, 30)
	if !c.has(b.k) {
		t.Fatal("a partly read block was evicted")
	}
	c.readOut(b, 34)
	c.release(b)
	if c.has(b.k) {
		t.Fatal("a block read to its end is still cached")
	}
	var second *byte
	b2, _ := c.get(blockKey{"k", "e", 1}, func(buf []byte) (int, error) {
		second = &buf[0]
		return fillBlock(3)(buf)
	}, true)
	defer c.release(b2)
	if second != first {
		t.Fatal("the next fetch did not reuse the read-out block's buffer")
	}
	p, _ := c.get(blockKey{"k", "e", 2}, fillBlock(3), true)
	c.readOut(p, 10)
	c.release(p)
	if !c.has(p.k) {
		t.Fatal("a partly read block left the cache")
	}
}
