package cluster

import (
	"hash/fnv"
	"sort"
)

// Placement is rendezvous (highest random weight) hashing: every member gets
// a score for a (bucket, key) and the preference list is the members by
// descending score. Adding or removing a member only changes the lists in
// which that member appears, about N/n of the keys.

// keyHash hashes a (bucket, key) pair.
func keyHash(bucket, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}

// nodeHash hashes a node ID.
func nodeHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finalizer: a bijection that spreads every input
// bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rank orders ids by descending rendezvous score for (bucket, key) and
// returns the first n. ids is not modified.
func rank(ids []string, bucket, key string, n int) []string {
	kh := keyHash(bucket, key)
	type scored struct {
		id    string
		score uint64
	}
	s := make([]scored, len(ids))
	for i, id := range ids {
		s[i] = scored{id, mix64(kh ^ nodeHash(id))}
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].score != s[j].score {
			return s[i].score > s[j].score
		}
		return s[i].id < s[j].id
	})
	if n > len(s) {
		n = len(s)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = s[i].id
	}
	return out
}
