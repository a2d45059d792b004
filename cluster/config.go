package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Node. Start from DefaultConfig.
type Config struct {
	// NodeID names the node in the cluster. Empty: read from DataDir, or
	// generated there on first start and kept.
	NodeID string
	// DataDir holds the cluster's own files (node-id, secret when
	// generated, members.json, tombstones.jsonl). Required.
	DataDir string
	// GossipAddr is the memberlist bind address (host:port). Empty: no
	// gossip; the node is a cluster of one that nobody can join.
	GossipAddr string
	// GossipAdvertise is the address peers use to reach GossipAddr, when it
	// differs (a bind on 0.0.0.0). Empty: GossipAddr.
	GossipAdvertise string
	// Join lists gossip addresses of existing members to join at start.
	Join []string
	// Replicas is the replication factor N (capped by the number of
	// members).
	Replicas int
	// WriteQuorum and ReadQuorum are W and R; 0 means a majority of the
	// effective N. They are capped by N.
	WriteQuorum, ReadQuorum int
	// Secret is the cluster secret (BUCKETDB_CLUSTER_SECRET): it signs
	// node-to-node RPC and encrypts gossip. Empty: a secret is generated and
	// kept in DataDir; such a node can serve alone but nobody can join it.
	Secret string
	// RPCAddr is the host:port where peers reach this node's Handler. Empty:
	// S3Addr (the RPC is mounted on the S3 listener).
	RPCAddr string
	// S3Addr is the node's advertised S3 address (host:port), shown in
	// cluster status.
	S3Addr string
	// Logger receives the cluster's logs; nil discards them.
	Logger *slog.Logger
	// ClockOffset shifts this node's physical clock (tests inject skew).
	ClockOffset time.Duration
	// Locks, when set, is told of every client lock grant and conflict
	// (metrics). Called from request goroutines; must be cheap and safe for
	// concurrent use.
	Locks LockObserver

	// RPCTimeout bounds one non-streaming RPC. Default 10s.
	RPCTimeout time.Duration
	// StallTimeout drops a replica from a streaming write when it has not
	// accepted the next chunk for this long. Default 5s.
	StallTimeout time.Duration
	// HealInterval is the period of the anti-entropy pass. Default 30s;
	// negative disables the loop (HealNow still works).
	HealInterval time.Duration
	// StageTTL is how long a prepared but never committed write is kept.
	// Default 10m.
	StageTTL time.Duration
	// TombstoneTTL is how long permanent-delete tombstones are kept.
	// Default 7 days.
	TombstoneTTL time.Duration
}

// DefaultConfig returns the defaults: 3 replicas, majority quorums.
func DefaultConfig() Config {
	return Config{
		Replicas:     3,
		RPCTimeout:   10 * time.Second,
		StallTimeout: 5 * time.Second,
		HealInterval: 30 * time.Second,
		StageTTL:     10 * time.Minute,
		TombstoneTTL: 7 * 24 * time.Hour,
	}
}

// validate fills zero fields from the defaults and checks the rest.
func (c *Config) validate() error {
	d := DefaultConfig()
	if c.DataDir == "" {
		return errors.New("cluster: DataDir is required")
	}
	if c.Replicas == 0 {
		c.Replicas = d.Replicas
	}
	if c.Replicas < 1 {
		return fmt.Errorf("cluster: Replicas %d < 1", c.Replicas)
	}
	if c.WriteQuorum < 0 || c.ReadQuorum < 0 {
		return errors.New("cluster: negative quorum")
	}
	if c.RPCTimeout <= 0 {
		c.RPCTimeout = d.RPCTimeout
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = d.StallTimeout
	}
	if c.HealInterval == 0 {
		c.HealInterval = d.HealInterval
	}
	if c.StageTTL <= 0 {
		c.StageTTL = d.StageTTL
	}
	if c.TombstoneTTL <= 0 {
		c.TombstoneTTL = d.TombstoneTTL
	}
	if c.RPCAddr == "" {
		c.RPCAddr = c.S3Addr
	}
	if len(c.Join) > 0 && c.GossipAddr == "" {
		return errors.New("cluster: Join needs GossipAddr")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.WriteQuorum > 0 && c.ReadQuorum > 0 && c.WriteQuorum+c.ReadQuorum <= c.Replicas {
		c.Logger.Warn("read and write quorums do not overlap: reads may miss acknowledged writes",
			"replicas", c.Replicas, "write_quorum", c.WriteQuorum, "read_quorum", c.ReadQuorum)
	}
	return nil
}

// quorums returns the effective N, W and R for a cluster of members nodes.
func (c *Config) quorums(members int) (n, w, r int) {
	n = min(c.Replicas, members)
	if n < 1 {
		n = 1
	}
	w, r = c.WriteQuorum, c.ReadQuorum
	if w <= 0 {
		w = n/2 + 1
	}
	if r <= 0 {
		r = n/2 + 1
	}
	return n, min(w, n), min(r, n)
}

// LockObserver counts the outcomes of client lock requests.
type LockObserver interface {
	LockGranted()
	LockConflict()
}
