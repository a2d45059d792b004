package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
)

// Lifecycle states of a member in the registry. Placement uses active
// members only; a leaving member drains its data to the new owners and
// then becomes removed.
const (
	stateActive  = "active"
	stateLeaving = "leaving"
	stateRemoved = "removed"
)

func stateRank(s string) int {
	switch s {
	case stateActive:
		return 0
	case stateLeaving:
		return 1
	default:
		return 2
	}
}

// Member is one node as the registry knows it.
type Member struct {
	ID         string
	GossipAddr string `json:",omitempty"`
	RPCAddr    string `json:",omitempty"`
	S3Addr     string `json:",omitempty"`
	// State is active, leaving or removed.
	State string
	// Gen orders successive records of the same member (address changes).
	Gen uint64 `json:",omitempty"`
}

// newer reports whether m supersedes o (same ID).
func (m Member) newer(o Member) bool {
	if stateRank(m.State) != stateRank(o.State) {
		return stateRank(m.State) > stateRank(o.State)
	}
	return m.Gen > o.Gen
}

// registry is the set of members, persisted in a JSON file. Safe for
// concurrent use.
type registry struct {
	path string

	mu       sync.Mutex
	members  map[string]Member
	version  uint64 // bumped on every change
	cached   *view  // the view at version
	onChange func()
}

func loadRegistry(path string) (*registry, error) {
	r := &registry{path: path, members: map[string]Member{}}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read member registry: %w", err)
	}
	var ms []Member
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("parse member registry %s: %w", path, err)
	}
	for _, m := range ms {
		r.members[m.ID] = m
	}
	return r, nil
}

// merge folds ms into the registry; it reports whether anything changed.
func (r *registry) merge(ms []Member) bool {
	r.mu.Lock()
	changed := false
	for _, m := range ms {
		if m.ID == "" {
			continue
		}
		cur, ok := r.members[m.ID]
		if !ok || m.newer(cur) {
			r.members[m.ID] = m
			changed = true
		}
	}
	if changed {
		r.version++
		r.saveLocked()
	}
	fn := r.onChange
	r.mu.Unlock()
	if changed && fn != nil {
		fn()
	}
	return changed
}

// set records m as the newest record of its member.
func (r *registry) set(m Member) {
	r.mu.Lock()
	if cur, ok := r.members[m.ID]; ok && m.Gen <= cur.Gen {
		m.Gen = cur.Gen + 1
	}
	r.members[m.ID] = m
	r.version++
	r.saveLocked()
	fn := r.onChange
	r.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (r *registry) saveLocked() {
	b, _ := json.MarshalIndent(r.listLocked(), "", "  ")
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		_ = os.Rename(tmp, r.path)
	}
}

func (r *registry) listLocked() []Member {
	out := make([]Member, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// list returns all members sorted by ID.
func (r *registry) list() []Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listLocked()
}

// get returns the member with id.
func (r *registry) get(id string) (Member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[id]
	return m, ok
}

// view is an immutable snapshot used for placement.
type view struct {
	version uint64
	active  []string          // IDs of active members, sorted
	byID    map[string]Member // every member
	// live are the IDs of members not removed (they may coordinate
	// writes), sorted; fp fingerprints every member's ID and state, so
	// that two nodes with equal fp place every key alike.
	live []string
	fp   uint64
}

func (r *registry) view() *view {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cached != nil && r.cached.version == r.version {
		return r.cached
	}
	v := &view{version: r.version, byID: make(map[string]Member, len(r.members))}
	for id, m := range r.members {
		v.byID[id] = m
		if m.State == stateActive {
			v.active = append(v.active, id)
		}
		if m.State != stateRemoved {
			v.live = append(v.live, id)
		}
	}
	slices.Sort(v.active)
	slices.Sort(v.live)
	h := fnv.New64a()
	for _, m := range r.listLocked() {
		fmt.Fprintf(h, "%s\x00%s\x00", m.ID, m.State)
	}
	v.fp = h.Sum64()
	r.cached = v
	return v
}

func registryPath(dir string) string { return filepath.Join(dir, "members.json") }
