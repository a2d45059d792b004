package cluster

import (
	"fmt"
	"math"
	"testing"
)

func ids(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("node-%d", i))
	}
	return out
}

func TestPlacementDeterministicAndDistinct(t *testing.T) {
	members := ids(5)
	for i := range 100 {
		key := fmt.Sprint("key", i)
		a := rank(members, "b", key, 3)
		b := rank([]string{members[4], members[2], members[0], members[3], members[1]}, "b", key, 3)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: order depends on input order: %v vs %v", key, a, b)
		}
		seen := map[string]bool{}
		for _, id := range a {
			if seen[id] {
				t.Fatalf("%s: %v repeats a node", key, a)
			}
			seen[id] = true
		}
	}
	if got := rank(members[:2], "b", "k", 3); len(got) != 2 {
		t.Fatalf("N capped by members: %v", got)
	}
}

// Every node gets about N/n of the keys.
func TestPlacementDistribution(t *testing.T) {
	for _, n := range []int{3, 4, 7} {
		members := ids(n)
		const keys = 20000
		count := map[string]int{}
		first := map[string]int{}
		for i := range keys {
			p := rank(members, "bucket", fmt.Sprintf("obj/%08d", i), 3)
			first[p[0]]++
			for _, id := range p {
				count[id]++
			}
		}
		want := float64(keys) * 3 / float64(n)
		for _, id := range members {
			if dev := math.Abs(float64(count[id])-want) / want; dev > 0.05 {
				t.Errorf("%d nodes: %s holds %d replicas, want about %.0f", n, id, count[id], want)
			}
			wantFirst := float64(keys) / float64(n)
			if dev := math.Abs(float64(first[id])-wantFirst) / wantFirst; dev > 0.08 {
				t.Errorf("%d nodes: %s leads %d lists, want about %.0f", n, id, first[id], wantFirst)
			}
		}
	}
}

// Adding or removing one node changes only the lists it enters or leaves:
// about N/(n+1) of the keys move, and each changed list changes by one
// member.
func TestPlacementMovement(t *testing.T) {
	const keys = 20000
	before := ids(4)
	after := ids(5)
	moved := 0
	for i := range keys {
		key := fmt.Sprintf("obj/%08d", i)
		a := rank(before, "b", key, 3)
		b := rank(after, "b", key, 3)
		inA := map[string]bool{}
		for _, id := range a {
			inA[id] = true
		}
		diff := 0
		for _, id := range b {
			if !inA[id] {
				diff++
				if id != "node-4" {
					t.Fatalf("%s: %v -> %v brings in an old node", key, a, b)
				}
			}
		}
		if diff > 1 {
			t.Fatalf("%s: %v -> %v changes %d members", key, a, b, diff)
		}
		moved += diff
	}
	// The new node should get 3/5 of the keys' replicas: 0.6 of the keys.
	if frac := float64(moved) / keys; math.Abs(frac-0.6) > 0.03 {
		t.Fatalf("%.3f of the keys moved on join, want about 0.6", frac)
	}
	// Removal is the same change backwards.
	removed := 0
	for i := range keys {
		key := fmt.Sprintf("obj/%08d", i)
		a := rank(after, "b", key, 3)
		b := rank(append(ids(2), "node-3", "node-4"), "b", key, 3) // node-2 gone
		for j := range a {
			if a[j] == "node-2" {
				removed++
				break
			}
		}
		inB := map[string]bool{}
		for _, id := range b {
			inB[id] = true
		}
		for _, id := range a {
			if id != "node-2" && !inB[id] {
				t.Fatalf("%s: removing node-2 dropped %s", key, id)
			}
		}
	}
	if frac := float64(removed) / keys; math.Abs(frac-0.6) > 0.03 {
		t.Fatalf("%.3f of the keys had node-2, want about 0.6", frac)
	}
}
