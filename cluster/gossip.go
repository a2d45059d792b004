package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossip is the memberlist-based failure detector. Node metadata carries
// the member record (ID, addresses, state); push/pull exchanges the whole
// registry. Gossip is encrypted with a key derived from the cluster secret,
// so a node with another secret cannot join.
type gossip struct {
	n    *Node
	ml   *memberlist.Memberlist // nil: gossip disabled (a cluster of one)
	stop chan struct{}
	done chan struct{}
}

// reconnectInterval is how often a node tries to rejoin members it sees as
// dead. Memberlist forgets dead members after a while, so without this two
// sides of a healed partition would never find each other again.
const reconnectInterval = 3 * time.Second

func newGossip(n *Node) (*gossip, error) {
	g := &gossip{n: n, stop: make(chan struct{}), done: make(chan struct{})}
	if n.cfg.GossipAddr == "" {
		close(g.done)
		return g, nil
	}
	host, port, err := splitHostPort(n.cfg.GossipAddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip address: %w", err)
	}
	c := memberlist.DefaultLANConfig()
	c.Name = n.id
	c.BindAddr, c.BindPort = host, port
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		c.AdvertiseAddr, c.AdvertisePort = host, port
	}
	if n.cfg.GossipAdvertise != "" {
		if c.AdvertiseAddr, c.AdvertisePort, err = splitHostPort(n.cfg.GossipAdvertise); err != nil {
			return nil, fmt.Errorf("cluster: gossip advertise address: %w", err)
		}
	}
	key := sha256.Sum256(append([]byte("bucketdb-gossip\x00"), n.secret...))
	c.SecretKey = key[:]
	c.PushPullInterval = 10 * time.Second
	c.ProbeInterval = 500 * time.Millisecond
	c.ProbeTimeout = 250 * time.Millisecond
	c.SuspicionMult = 3
	c.GossipToTheDeadTime = 10 * time.Second
	c.Delegate = g
	c.Events = g
	c.Logger = log.New(&slogWriter{l: n.log.With("component", "memberlist")}, "", 0)
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("cluster: start gossip: %w", err)
	}
	g.ml = ml
	// A bind on 0.0.0.0 without an advertised address: record the address
	// memberlist chose, so that peers can find this node again.
	if self, _ := n.reg.get(n.id); self.GossipAddr != ml.LocalNode().Address() && n.cfg.GossipAdvertise == "" && c.AdvertiseAddr == "" {
		self.GossipAddr = ml.LocalNode().Address()
		n.reg.set(self)
	}
	seeds := append([]string(nil), n.cfg.Join...)
	for _, m := range n.reg.list() {
		if m.ID != n.id && m.GossipAddr != "" && m.State != stateRemoved {
			seeds = append(seeds, m.GossipAddr)
		}
	}
	if len(seeds) > 0 {
		if _, err := ml.Join(seeds); err != nil && len(n.cfg.Join) > 0 {
			ml.Shutdown()
			return nil, fmt.Errorf("cluster: join %v: %w", n.cfg.Join, err)
		}
	}
	go g.reconnectLoop()
	return g, nil
}

// reconnectLoop rejoins registry members that gossip sees as dead.
func (g *gossip) reconnectLoop() {
	defer close(g.done)
	t := time.NewTicker(reconnectInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		var addrs []string
		for _, m := range g.n.reg.list() {
			if m.ID != g.n.id && m.State != stateRemoved && m.GossipAddr != "" && g.state(m.ID) == Dead {
				addrs = append(addrs, m.GossipAddr)
			}
		}
		if len(addrs) > 0 {
			g.ml.Join(addrs) // failures are expected while they are down
		}
	}
}

func splitHostPort(a string) (string, int, error) {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return h, port, nil
}

func (g *gossip) state(id string) string {
	if g.ml == nil {
		return Dead
	}
	for _, m := range g.ml.Members() {
		if m.Name != id {
			continue
		}
		switch m.State {
		case memberlist.StateAlive:
			return Alive
		case memberlist.StateSuspect:
			return Suspect
		}
		return Dead
	}
	return Dead
}

func (g *gossip) leave(timeout time.Duration) error {
	if g.ml == nil {
		return nil
	}
	return g.ml.Leave(timeout)
}

func (g *gossip) close() error {
	if g.ml == nil {
		return nil
	}
	close(g.stop)
	<-g.done
	return g.ml.Shutdown()
}

// memberlist.Delegate

func (g *gossip) NodeMeta(limit int) []byte {
	m, _ := g.n.reg.get(g.n.id)
	b, _ := json.Marshal(m)
	if len(b) > limit {
		return nil
	}
	return b
}

func (g *gossip) NotifyMsg([]byte)                           {}
func (g *gossip) GetBroadcasts(overhead, limit int) [][]byte { return nil }

func (g *gossip) LocalState(join bool) []byte {
	b, _ := json.Marshal(g.n.reg.list())
	return b
}

func (g *gossip) MergeRemoteState(buf []byte, join bool) {
	var ms []Member
	if json.Unmarshal(buf, &ms) == nil {
		g.n.reg.merge(ms)
	}
}

// memberlist.EventDelegate

func (g *gossip) NotifyJoin(node *memberlist.Node)   { g.learn(node) }
func (g *gossip) NotifyUpdate(node *memberlist.Node) { g.learn(node) }
func (g *gossip) NotifyLeave(node *memberlist.Node)  { g.n.heal.kick() }

func (g *gossip) learn(node *memberlist.Node) {
	var m Member
	if json.Unmarshal(node.Meta, &m) != nil || m.ID == "" {
		return
	}
	g.n.reg.merge([]Member{m})
	g.n.heal.kick() // a member (re)appeared: it may have missed writes
}

// slogWriter forwards memberlist's log lines to slog.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	switch {
	case bytes.Contains(p, []byte("Failed to join")):
		w.l.Debug(line) // the reconnect loop retrying a member that is down
	case bytes.Contains(p, []byte("[ERR]")):
		w.l.Error(line)
	case bytes.Contains(p, []byte("[WARN]")):
		w.l.Warn(line)
	default:
		w.l.Debug(line)
	}
	return len(p), nil
}
