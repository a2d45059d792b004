package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// This file holds what operators and probes ask of a node: readiness, a
// cheap member listing for metrics, healing figures, and a scrub that
// repairs bad local replicas from good ones.

// ErrNotReady is what Ready returns (wrapped, with the reason) when the node
// should not receive client traffic.
var ErrNotReady = errors.New("cluster: node not ready")

// Ready reports whether the node can serve writes: it has joined the
// cluster (when configured to join) and enough members are up that every
// key still has a write quorum (at most N-W active members dead). The error
// wraps ErrNotReady and says why. It sends no RPC: liveness comes from
// gossip.
func (n *Node) Ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := n.reg.view()
	self, _ := n.reg.get(n.id)
	if self.State == stateRemoved {
		return fmt.Errorf("%w: this node was removed from the cluster", ErrNotReady)
	}
	nn, w, _ := n.cfg.quorums(len(v.active))
	var dead []string
	othersUp := 0
	for _, id := range v.active {
		if id == n.id {
			continue
		}
		if n.state(id) == Dead {
			dead = append(dead, id)
		} else {
			othersUp++
		}
	}
	if len(n.cfg.Join) > 0 && othersUp == 0 && len(v.active) > 1 {
		return fmt.Errorf("%w: not joined: no other member of %d reachable", ErrNotReady, len(v.active))
	}
	if len(dead) > nn-w {
		return fmt.Errorf("%w: write quorum lost: %d of %d members down (%v), a write needs %d of %d replicas",
			ErrNotReady, len(dead), len(v.active), dead, w, nn)
	}
	return nil
}

// MemberState is one member as this node sees it, without asking it.
type MemberState struct {
	ID        string
	State     string // alive, suspect or dead
	Lifecycle string // active, leaving or removed
}

// MemberStates lists the registry with the local view of each member's
// liveness. Unlike Status it sends no RPC, so metrics can call it on every
// scrape.
func (n *Node) MemberStates() []MemberState {
	ms := n.reg.list()
	out := make([]MemberState, 0, len(ms))
	for _, m := range ms {
		out = append(out, MemberState{ID: m.ID, State: n.state(m.ID), Lifecycle: m.State})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// HealInfo reports this node's anti-entropy work.
type HealInfo struct {
	Passes   int64     // completed passes since start
	Backlog  int64     // versions the last pass could not repair yet
	Healing  bool      // a pass is running
	LastPass time.Time `json:",omitzero"`
}

// HealInfo returns the figures of the anti-entropy loop; it sends no RPC.
func (n *Node) HealInfo() HealInfo {
	h := HealInfo{Passes: n.heal.passes.Load(), Backlog: n.heal.backlog.Load(),
		Healing: n.heal.running.Load()}
	if t := n.heal.last.Load(); t > 0 {
		h.LastPass = time.Unix(0, t).UTC()
	}
	return h
}

// ScrubReport is the result of Node.Scrub.
type ScrubReport struct {
	Versions, Parts, Bytes int64
	Bad                    []ScrubFinding
	Duration               time.Duration
}

// ScrubFinding is one version or upload part whose local data failed
// verification, and what repairing it did.
type ScrubFinding struct {
	Bucket, Key, VersionID string
	UploadID               string `json:",omitempty"`
	Part                   int    `json:",omitempty"`
	Error                  string
	Repaired               bool
	RepairedFrom           string `json:",omitempty"` // member whose copy replaced it
	RepairError            string `json:",omitempty"`
}

// Scrub verifies every checksum of this node's store, then repairs each bad
// version from another replica that holds a good copy: the peer's copy is
// read in full first (its store verifies it on read), the bad local version
// is removed, and the good one is copied back with its identity. Bad parts
// of multipart uploads in progress cannot be repaired (no other node holds
// them) and are reported. With no other replica (a cluster of one) bad
// versions are reported, not repaired.
func (n *Node) Scrub(ctx context.Context) (ScrubReport, error) {
	start := time.Now()
	res, err := n.st.Scrub(ctx)
	rep := ScrubReport{Versions: res.Versions, Parts: res.Parts, Bytes: res.Bytes}
	for _, is := range res.Bad {
		f := ScrubFinding{Bucket: is.Bucket, Key: is.Key, VersionID: is.VersionID,
			UploadID: is.UploadID, Part: is.Part}
		if is.Err != nil {
			f.Error = is.Err.Error()
		}
		switch {
		case is.UploadID != "":
			f.RepairError = "part of an upload in progress: no other replica holds it"
		case ctx.Err() != nil:
			f.RepairError = ctx.Err().Error()
		default:
			from, rerr := n.repairVersion(ctx, is.Bucket, is.Key, is.VersionID)
			if rerr != nil {
				f.RepairError = rerr.Error()
			} else {
				f.Repaired, f.RepairedFrom = true, from
			}
		}
		rep.Bad = append(rep.Bad, f)
	}
	rep.Duration = time.Since(start)
	return rep, err
}

// repairVersion replaces the local copy of one version with a good copy
// from another replica of the key and returns that replica's ID.
func (n *Node) repairVersion(ctx context.Context, bucket, key, shownID string) (string, error) {
	info, err := n.st.HeadObject(ctx, bucket, key, store.GetOptions{VersionID: shownID})
	if err != nil {
		return "", fmt.Errorf("look up local version: %w", err)
	}
	id := internalOf(info)
	self, _ := n.reg.get(n.id)
	var errs []error
	for _, m := range n.place(bucket, key).nodes {
		if m.ID == n.id || n.state(m.ID) == Dead {
			continue
		}
		d, ok := n.fetchView(ctx, m, bucket, key, "", key).vers[key][id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: does not hold the version", m.ID))
			continue
		}
		if err := n.verifyRemote(ctx, m, bucket, key, id, d.Size); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ID, err))
			continue
		}
		if _, err := n.st.DeleteObject(ctx, bucket, key, store.DeleteOptions{VersionID: id}); err != nil {
			return "", fmt.Errorf("remove bad local copy: %w", err)
		}
		if err := n.copyVersion(ctx, m, self, bucket, key, d); err != nil {
			// The bad copy is gone; anti-entropy copies the version back.
			n.heal.kick()
			return "", fmt.Errorf("copy from %s (anti-entropy will retry): %w", m.ID, err)
		}
		n.log.Info("scrub repaired a bad replica", "bucket", bucket, "key", key, "version", shownID, "from", m.ID)
		return m.ID, nil
	}
	if len(errs) == 0 {
		return "", errors.New("no other replica of the key is up")
	}
	return "", fmt.Errorf("no good copy: %w", errors.Join(errs...))
}

// verifyRemote reads one version from m in full, so m's store verifies
// every checksum of its copy.
func (n *Node) verifyRemote(ctx context.Context, m Member, bucket, key, id string, size int64) error {
	cctx, cancel := n.rpcCtx(ctx, size)
	defer cancel()
	_, rc, err := n.replica(m).Get(cctx, GetRequest{Bucket: bucket, Key: key, Opts: store.GetOptions{VersionID: id}})
	if err != nil {
		return err
	}
	defer rc.Close()
	got, err := io.Copy(io.Discard, rc)
	if err == nil && got != size {
		err = fmt.Errorf("read %d of %d bytes", got, size)
	}
	return err
}
