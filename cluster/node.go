package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Node is one member of a BucketDB cluster and the object layer of its S3
// server: every method of s3.Backend, coordinated over the cluster.
type Node struct {
	cfg    Config
	id     string
	secret []byte
	st     *store.Store
	clock  *store.Clock
	log    *slog.Logger

	reg   *registry
	svc   *service
	tr    Transport
	det   detector
	stage *stager
	tombs *tombstones
	rpc   *rpcServer

	heal  healState
	lease *leases

	repairMu  sync.Mutex
	repairing map[string]bool

	uploads uploadCache // upload records read by UploadInfo (multipart.go)

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
}

// detector reports the liveness of members.
type detector interface {
	// state returns "alive", "suspect" or "dead" for a member ID.
	state(id string) string
	// leave announces a graceful departure.
	leave(timeout time.Duration) error
	close() error
}

// Liveness states reported in Status.
const (
	Alive   = "alive"
	Suspect = "suspect"
	Dead    = "dead"
)

// nodeOptions are the seams tests use to run many nodes in one process.
type nodeOptions struct {
	transport func(n *Node) Transport
	detector  func(n *Node) (detector, error)
}

// New starts a node on st: it loads or creates its identity in
// cfg.DataDir, joins the cluster through cfg.Join when gossip is enabled,
// and starts healing. The caller keeps ownership of st and closes it after
// Close.
func New(cfg Config, st *store.Store) (*Node, error) {
	return newNode(cfg, st, nodeOptions{})
}

func newNode(cfg Config, st *store.Store, o nodeOptions) (*Node, error) {
	if st == nil {
		return nil, errors.New("cluster: nil store")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: create data dir: %w", err)
	}
	id, err := loadOrCreate(filepath.Join(cfg.DataDir, "node-id"), cfg.NodeID, func() string {
		b := make([]byte, 6)
		rand.Read(b)
		return "node-" + hex.EncodeToString(b)
	})
	if err != nil {
		return nil, err
	}
	secret := cfg.Secret
	if secret == "" {
		if secret, err = loadOrCreate(filepath.Join(cfg.DataDir, "secret"), "", func() string {
			b := make([]byte, 32)
			rand.Read(b)
			return hex.EncodeToString(b)
		}); err != nil {
			return nil, err
		}
	}
	n := &Node{cfg: cfg, id: id, st: st, clock: st.Clock(), log: cfg.Logger.With("node", id),
		repairing: map[string]bool{}}
	n.secret = deriveSecret(secret)
	n.clock.SetOffset(cfg.ClockOffset)
	if n.reg, err = loadRegistry(registryPath(cfg.DataDir)); err != nil {
		return nil, err
	}
	self, known := n.reg.get(id)
	if known && self.State == stateRemoved {
		return nil, fmt.Errorf("cluster: node %s was removed from the cluster; start it with a new data dir", id)
	}
	want := Member{ID: id, GossipAddr: gossipAdvertise(cfg), RPCAddr: cfg.RPCAddr, S3Addr: cfg.S3Addr, State: stateActive, Gen: self.Gen}
	if known {
		want.State = self.State
	}
	if !known || want != self {
		n.reg.set(want)
	}
	n.stage = newStager(st, cfg.StageTTL)
	if n.tombs, err = openTombstones(filepath.Join(cfg.DataDir, "tombstones.jsonl"), cfg.TombstoneTTL); err != nil {
		return nil, err
	}
	n.lease = newLeases(n.log, len(n.reg.view().live) > 1)
	n.svc = &service{id: id, st: st, stage: n.stage, tombs: n.tombs, reg: n.reg, clock: n.clock, stats: n.localStats,
		lease: n.grantLease}
	n.rpc = newRPCServer(n)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if o.transport != nil {
		n.tr = o.transport(n)
	} else {
		n.tr = newHTTPTransport(id, n.secret, n.clock, cfg.RPCTimeout)
	}
	n.heal.init()
	n.reg.onChange = n.heal.kick
	if o.detector != nil {
		n.det, err = o.detector(n)
	} else {
		n.det, err = newGossip(n)
	}
	if err != nil {
		n.cancel()
		n.tombs.close()
		return nil, err
	}
	n.wg.Add(3)
	go n.healLoop()
	go n.sweepLoop()
	go n.leaseLoop()
	return n, nil
}

func gossipAdvertise(cfg Config) string {
	if cfg.GossipAdvertise != "" {
		return cfg.GossipAdvertise
	}
	return cfg.GossipAddr
}

// loadOrCreate returns the content of path; if missing, want (or make())
// is written there. A non-empty want that differs from the file is an error.
func loadOrCreate(path, want string, make func() string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		have := strings.TrimSpace(string(b))
		if want != "" && want != have {
			return "", fmt.Errorf("cluster: %s holds %q, configured %q", path, have, want)
		}
		return have, nil
	}
	if !os.IsNotExist(err) {
		return "", fmt.Errorf("cluster: %w", err)
	}
	v := want
	if v == "" {
		v = make()
	}
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	return v, nil
}

// deriveSecret turns the configured secret into the RPC signing key.
func deriveSecret(secret string) []byte {
	sum := sha256.Sum256([]byte("bucketdb-cluster-secret\x00" + secret))
	return sum[:]
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.id }

// Handler serves the node-to-node RPC under /_bucketdb/rpc/ and the admin
// endpoints (AdminStatusPath, AdminRemovePath), all authenticated with the
// cluster secret. Mount it before the S3 router, on the listener at RPCAddr;
// IsInternal tells which requests are its.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(rpcPrefix, n.rpc)
	mux.HandleFunc(adminStatusPath, n.serveStatus)
	mux.HandleFunc(adminRemovePath, n.serveRemove)
	return mux
}

// IsInternal reports whether an HTTP request is for Handler (cmd/ routes
// on it).
func IsInternal(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/_bucketdb/")
}

// Close stops background work and waits for it, then leaves gossip. It
// does not close the store; close the S3 listener first.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		n.wg.Wait()
		if n.det != nil {
			// Announce the departure so that peers stop waiting for this
			// node at once (it rejoins under the same ID on restart).
			n.det.leave(time.Second)
			n.det.close()
		}
		if t, ok := n.tr.(*httpTransport); ok {
			t.close()
		}
		n.stage.clear()
		n.tombs.close()
	})
	return nil
}

func (n *Node) sweepLoop() {
	defer n.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	compacted := time.Now()
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-t.C:
			n.stage.sweep(now)
			if now.Sub(compacted) > time.Hour {
				n.tombs.compact(now)
				compacted = now
			}
		}
	}
}

// go runs fn in a goroutine owned by the node (Close waits for it); the ctx
// passed is canceled by Close.
func (n *Node) goBackground(fn func(ctx context.Context)) {
	select {
	case <-n.ctx.Done():
		return
	default:
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn(n.ctx)
	}()
}

// replica returns the Replica of member m (this node's own service for
// itself).
func (n *Node) replica(m Member) Replica {
	if m.ID == n.id {
		return n.svc
	}
	return n.tr.To(m)
}

// state returns the liveness of member id.
func (n *Node) state(id string) string {
	if id == n.id {
		return Alive
	}
	return n.det.state(id)
}

// placement is the preference list of one key.
type placement struct {
	nodes   []Member // N members in preference order
	w, r    int
	members int    // active members
	view    uint64 // fingerprint of the registry it was computed from
}

// place computes the preference list of (bucket, key).
func (n *Node) place(bucket, key string) placement {
	v := n.reg.view()
	nn, w, r := n.cfg.quorums(len(v.active))
	ids := rank(v.active, bucket, key, nn)
	p := placement{w: w, r: r, members: len(v.active), view: v.fp}
	for _, id := range ids {
		p.nodes = append(p.nodes, v.byID[id])
	}
	return p
}

// activeMembers returns the active members (placement set).
func (n *Node) activeMembers() []Member {
	v := n.reg.view()
	out := make([]Member, 0, len(v.active))
	for _, id := range v.active {
		out = append(out, v.byID[id])
	}
	return out
}

// rpcCtx bounds one call moving size bytes.
func (n *Node) rpcCtx(ctx context.Context, size int64) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, n.cfg.RPCTimeout+time.Duration(size/(8<<20))*time.Second)
}

// newStageID mints a unique staging ID.
func newStageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// unavailable wraps the failures that prevented a quorum.
func unavailable(what string, got, need int, errs []error) error {
	return fmt.Errorf("%w: %s: %d of %d replicas (%v)", store.ErrUnavailable, what, got, need, errors.Join(errs...))
}
