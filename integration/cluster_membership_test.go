package integration

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/cluster"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// memberDeadline bounds each wait for the cluster to converge (join
// rebalance, removal drain, partition heal). The anti-entropy pass is kicked
// by every membership change, so convergence should take seconds; the
// deadline also covers one full 30s heal interval.
const memberDeadline = 75 * time.Second

// ackLog records acknowledged writes (key -> body) and the failures seen by
// background clients, safe for concurrent use.
type ackLog struct {
	mu       sync.Mutex
	keys     []string
	bodies   map[string][]byte
	failures []string
}

func newAckLog() *ackLog { return &ackLog{bodies: map[string][]byte{}} }

func (a *ackLog) add(key string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.bodies[key]; !ok {
		a.keys = append(a.keys, key)
	}
	a.bodies[key] = body
}

func (a *ackLog) fail(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = append(a.failures, fmt.Sprintf(format, args...))
}

func (a *ackLog) pick(rng *rand.Rand) (string, []byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.keys) == 0 {
		return "", nil, false
	}
	k := a.keys[rng.IntN(len(a.keys))]
	return k, a.bodies[k], true
}

func (a *ackLog) snapshot() map[string][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]byte, len(a.bodies))
	for k, v := range a.bodies {
		out[k] = v
	}
	return out
}

func (a *ackLog) checkNoFailures(t *testing.T, what string) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) > 0 {
		sort.Strings(a.failures)
		t.Errorf("%d background requests failed %s; first: %s", len(a.failures), what,
			strings.Join(a.failures[:min(5, len(a.failures))], "; "))
	}
}

// addNode starts one more cluster node (ID id) joining existing's gossip
// address, with the harness's credentials and the test cluster secret, and
// waits until it is ready.
func addNode(t *testing.T, id string, existing *Server) *Server {
	t.Helper()
	cfg := serverConfig{accessKey: testAccessKey, secretKey: testSecretKey,
		env: []string{"BUCKETDB_CLUSTER_SECRET=" + testClusterSecret}}
	gossip := freePort(t, true)
	s := newServer(t, cfg, t.TempDir(), freePort(t, false),
		[]string{"--node-id", id, "--gossip", gossip, "--replicas", "3", "--join", existing.GossipAddr})
	s.NodeID, s.GossipAddr = id, gossip
	s.launch()
	s.waitReady(readyTimeout)
	return s
}

// adminRemove asks node via to decommission member id (what `bucketdb
// cluster remove` does).
func adminRemove(ctx context.Context, via *Server, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, via.URL+cluster.AdminRemovePath+"?node="+id, nil)
	if err != nil {
		return err
	}
	cluster.SignAdminRequest(req, testClusterSecret)
	resp, err := rawHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin remove %s: %s", id, resp.Status)
	}
	return nil
}

// waitReplicated polls every node in nodes until each sees exactly the
// members of nodes alive and active (plus the removed ones as removed),
// every backlog is empty and the objects held sum to N x want. It returns
// how long that took, or fails the test with the last status seen.
func waitReplicated(t *testing.T, nodes []*Server, removed []string, want int, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	active := map[string]bool{}
	for _, n := range nodes {
		active[n.NodeID] = true
	}
	gone := map[string]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	var last string
	err := retry(ctx, func() error {
		for _, n := range nodes {
			st, _, err := adminStatus(ctx, n, testClusterSecret)
			if err != nil {
				last = err.Error()
				return err
			}
			var sum int64
			var desc []string
			seen := 0
			for _, m := range st.Members {
				desc = append(desc, fmt.Sprintf("%s[%s/%s objects %d backlog %d healing %v %s]",
					m.ID, m.State, m.Lifecycle, m.Objects, m.Backlog, m.Healing, m.Error))
				switch {
				case gone[m.ID]:
					if m.Lifecycle != "removed" {
						last = fmt.Sprintf("seen by %s: %s is %q, want removed: %s", n.NodeID, m.ID, m.Lifecycle, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
				case active[m.ID]:
					seen++
					if m.State != cluster.Alive || m.Lifecycle != "active" || m.Backlog != 0 || m.Error != "" {
						last = fmt.Sprintf("seen by %s: %s", n.NodeID, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
					if m.Objects > int64(want) {
						t.Errorf("seen by %s: %s holds %d objects, more than the %d written", n.NodeID, m.ID, m.Objects, want)
					}
					if m.Objects == 0 && want > 0 {
						last = fmt.Sprintf("seen by %s: %s holds no objects yet: %s", n.NodeID, m.ID, strings.Join(desc, " "))
						return fmt.Errorf("%s", last)
					}
					sum += m.Objects
				default:
					last = fmt.Sprintf("seen by %s: unexpected member %s", n.NodeID, m.ID)
					return fmt.Errorf("%s", last)
				}
			}
			if seen != len(nodes) || st.Replicas != 3 {
				last = fmt.Sprintf("seen by %s: %d of %d members, replicas %d", n.NodeID, seen, len(nodes), st.Replicas)
				return fmt.Errorf("%s", last)
			}
			if sum != 3*int64(want) {
				last = fmt.Sprintf("seen by %s: objects held sum to %d, want 3 x %d = %d: %s",
					n.NodeID, sum, want, 3*want, strings.Join(desc, " "))
				return fmt.Errorf("%s", last)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("not converged within %v: %s%s", deadline, last, clusterLogs(nodes))
	}
	return time.Since(start)
}

// checkAllReadable reads every acknowledged object through every node in
// nodes and compares the bytes.
func checkAllReadable(t *testing.T, nodes []*Server, b string, objs map[string][]byte) {
	t.Helper()
	for _, n := range nodes {
		c := n.Client(t)
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		err := parallel(len(keys), 8, func(i int) error {
			got, err := getBytes(ctxT(t), c, b, keys[i], minio.GetObjectOptions{})
			if err != nil {
				return fmt.Errorf("%s through %s: %v", keys[i], n.NodeID, err)
			}
			if !bytes.Equal(got, objs[keys[i]]) {
				return fmt.Errorf("%s through %s: %d bytes md5 %s, want %d bytes md5 %s",
					keys[i], n.NodeID, len(got), md5hex(got), len(objs[keys[i]]), md5hex(objs[keys[i]]))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("acknowledged object not readable: %v", err)
		}
	}
}

// TestClusterMembershipJoinRemove joins a fourth node to a running
// three-node cluster, then decommissions n2, while a background client
// keeps writing new objects and reading acknowledged ones through n1 and n3.
// After each change every acknowledged object is readable through every
// remaining node and the objects held across the members sum to 3x the
// objects written (N=3), with n2 shown as removed.
func TestClusterMembershipJoinRemove(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	ctx := ctxT(t)
	b := newBucket(t, nodes[0].Client(t))
	acks := newAckLog()

	// 200 objects through all three nodes, 16 workers.
	clients := []*minio.Client{nodes[0].Client(t), nodes[1].Client(t), nodes[2].Client(t)}
	err := parallel(200, 16, func(i int) error {
		key := fmt.Sprintf("seed/%03d", i)
		body := randomBytes(256 + i*17)
		if _, err := clients[i%3].PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("PUT %s: %v", key, err)
		}
		acks.add(key, body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Background: 2 writers and 2 readers through n1 and n3 (the nodes that
	// stay), until stopped or for at most 3 minutes. gate pauses the writers
	// while the replica counts are checked (a count needs a quiet cluster).
	var gate sync.RWMutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, reads atomic.Int64
	stay := []*minio.Client{nodes[0].Client(t), nodes[2].Client(t)}
	bgEnd := time.Now().Add(3 * time.Minute)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			c := stay[w%2]
			for seq := 0; time.Now().Before(bgEnd); seq++ {
				select {
				case <-stop:
					return
				default:
				}
				if w < 2 {
					key := fmt.Sprintf("bg/w%d/%05d", w, seq)
					body := randomBytes(100 + rng.IntN(4000))
					gate.RLock()
					cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					_, err := c.PutObject(cctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
					cancel()
					if err == nil {
						acks.add(key, body)
						writes.Add(1)
					}
					gate.RUnlock()
					if err != nil {
						acks.fail("PUT %s: %v", key, err)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				key, body, _ := acks.pick(rng)
				cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				got, err := getBytes(cctx, c, b, key, minio.GetObjectOptions{})
				cancel()
				switch {
				case err != nil:
					acks.fail("GET %s: %v", key, err)
				case !bytes.Equal(got, body):
					acks.fail("GET %s: %d bytes md5 %s, want %d bytes md5 %s", key, len(got), md5hex(got), len(body), md5hex(body))
				default:
					reads.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	t.Cleanup(stopLoad)

	// Join n4 while the load runs.
	time.Sleep(time.Second)
	joined := time.Now()
	n4 := addNode(t, "n4", nodes[0])
	ready := time.Since(joined)
	four := append(append([]*Server(nil), nodes...), n4)
	time.Sleep(2 * time.Second) // some load while the cluster rebalances
	gate.Lock()
	want := len(acks.snapshot())
	took := waitReplicated(t, four, nil, want, memberDeadline)
	t.Logf("join: n4 ready %v after launch; %d objects at N=3 across 4 nodes (sum of objects held = %d, every node holding some) %v after the launch (2s of load, then %v of polling with writes paused)",
		ready.Round(100*time.Millisecond), want, 3*want, time.Since(joined).Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	checkAllReadable(t, four, b, acks.snapshot())
	gate.Unlock()

	// Decommission n2 while the load runs.
	removing := time.Now()
	if err := adminRemove(ctx, nodes[0], "n2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	gate.Lock()
	remaining := []*Server{nodes[0], nodes[2], n4}
	want = len(acks.snapshot())
	took = waitReplicated(t, remaining, []string{"n2"}, want, memberDeadline)
	t.Logf("removal: n2 drained and shown removed, %d objects at N=3 across n1, n3, n4, %v after the removal started (2s of load, then %v of polling with writes paused)",
		want, time.Since(removing).Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	checkAllReadable(t, remaining, b, acks.snapshot())
	gate.Unlock()

	time.Sleep(time.Second)
	stopLoad()
	t.Logf("background: %d writes and %d reads acknowledged during join and removal", writes.Load(), reads.Load())
	acks.checkNoFailures(t, "during join and removal")
	final := acks.snapshot()
	checkAllReadable(t, remaining, b, final)
	waitReplicated(t, remaining, []string{"n2"}, len(final), memberDeadline)
}

// partitionClientAddr is the loopback source address the test's own clients
// use to reach a partitioned node: the firewall rules let it through, so the
// test can still talk to the node that the other nodes cannot reach.
const partitionClientAddr = "127.0.0.5"

// partition cuts node s off from the other nodes without stopping it: its
// process is moved into a cgroup v2 group whose packets are dropped (except
// those to partitionClientAddr), and packets to its S3/RPC and gossip ports
// are dropped unless they come from partitionClientAddr. heal removes the
// rules; t.Cleanup removes them too and returns the process to the root
// group. Needs root, iptables (Debian package "iptables") and cgroup v2.
type partition struct {
	t      *testing.T
	rules  [][]string
	cgroup string
	root   string
	pid    int
	healed bool
}

func cutOff(t *testing.T, s *Server) *partition {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Fatalf("partition test needs iptables (install the Debian package \"iptables\"): %v", err)
	}
	root := cgroup2Root(t)
	tag := "bucketdb-partition-" + randomName(8)
	p := &partition{t: t, root: root, cgroup: filepath.Join(root, tag), pid: s.PID()}
	if p.pid == 0 {
		t.Fatalf("partition: %s is not running", s.NodeID)
	}
	if err := os.Mkdir(p.cgroup, 0o755); err != nil {
		t.Fatalf("partition: creating cgroup: %v", err)
	}
	t.Cleanup(p.cleanup)
	if err := os.WriteFile(filepath.Join(p.cgroup, "cgroup.procs"), []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
		t.Fatalf("partition: moving %s (pid %d) into %s: %v", s.NodeID, p.pid, p.cgroup, err)
	}
	_, s3Port, _ := net.SplitHostPort(s.Endpoint)
	_, gossipPort, _ := net.SplitHostPort(s.GossipAddr)
	cm := []string{"-m", "comment", "--comment", tag}
	// Sockets the node opened before the move stay in the old group, so
	// every port the node holds now (listeners, pooled RPC connections, the
	// gossip socket) is cut by port as well, both ways.
	p.rules = [][]string{append([]string{"OUTPUT", "!", "-d", partitionClientAddr, "-m", "cgroup", "--path", tag, "-j", "DROP"}, cm...)}
	ports := append(tcpPortsOf(t, p.pid), s3Port, gossipPort)
	sort.Strings(ports)
	ports = slices.Compact(ports)
	for _, port := range ports {
		p.rules = append(p.rules,
			append([]string{"OUTPUT", "-p", "tcp", "!", "-s", partitionClientAddr, "--dport", port, "-j", "DROP"}, cm...),
			append([]string{"OUTPUT", "-p", "tcp", "!", "-d", partitionClientAddr, "--sport", port, "-j", "DROP"}, cm...))
	}
	p.rules = append(p.rules,
		append([]string{"OUTPUT", "-p", "udp", "!", "-s", partitionClientAddr, "--dport", gossipPort, "-j", "DROP"}, cm...),
		append([]string{"OUTPUT", "-p", "udp", "!", "-d", partitionClientAddr, "--sport", gossipPort, "-j", "DROP"}, cm...))
	for _, r := range p.rules {
		if out, err := exec.Command("iptables", append([]string{"-I"}, r...)...).CombinedOutput(); err != nil {
			t.Fatalf("partition: iptables -I %s: %v: %s", strings.Join(r, " "), err, out)
		}
	}
	return p
}

// heal removes the firewall rules (the process stays in its cgroup, which
// no rule matches any more).
func (p *partition) heal() {
	p.t.Helper()
	if p.healed {
		return
	}
	p.healed = true
	for _, r := range p.rules {
		if out, err := exec.Command("iptables", append([]string{"-D"}, r...)...).CombinedOutput(); err != nil {
			p.t.Errorf("partition: iptables -D %s: %v: %s", strings.Join(r, " "), err, out)
		}
	}
}

func (p *partition) cleanup() {
	p.heal()
	// Back to the root group (ignored when the process is gone), then drop
	// the group.
	_ = os.WriteFile(filepath.Join(p.root, "cgroup.procs"), []byte(strconv.Itoa(p.pid)), 0o644)
	if err := os.Remove(p.cgroup); err != nil && !os.IsNotExist(err) {
		p.t.Errorf("partition: removing cgroup %s: %v", p.cgroup, err)
	}
}

// tcpPortsOf returns the local ports of the TCP sockets process pid holds.
func tcpPortsOf(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("partition: %v", err)
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []string
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if port, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				ports = append(ports, strconv.FormatUint(port, 10))
			}
		}
	}
	return ports
}

// cgroup2Root returns where the cgroup v2 hierarchy is mounted.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("partition: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			return f[4]
		}
	}
	t.Fatalf("partition test needs a cgroup v2 hierarchy mounted (none in /proc/self/mountinfo)")
	return ""
}

// clientFrom returns a minio-go client for s whose connections come from
// the loopback address src, with one attempt per request (no retries, so a
// refused write stays refused).
func clientFrom(t *testing.T, s *Server, src string) *minio.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}).DialContext
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       testRegion,
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return c
}

// partitionWrite is one write attempted during the partition.
type partitionWrite struct {
	via       string
	key       string
	body      []byte
	versionID string
	err       error
}

// TestClusterPartition cuts n3 off the network without stopping it (the
// firewall drops everything between it and n1/n2; the test still reaches it
// from another loopback address). n1 and n2 keep serving writes and reads;
// writes through n3 either fail with 503 or were acknowledged (having
// reached a quorum). After the partition heals and anti-entropy has run, every
// acknowledged version is readable with the right bytes through every node
// and no refused write appears.
func TestClusterPartition(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	ctx := ctxT(t)
	maj := []*minio.Client{clientFrom(t, nodes[0], "127.0.0.1"), clientFrom(t, nodes[1], "127.0.0.1")}
	iso := clientFrom(t, nodes[2], partitionClientAddr)
	b := newBucket(t, nodes[0].Client(t))
	if err := maj[0].EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var writes []partitionWrite
	put := func(c *minio.Client, via, key string, seq int) partitionWrite {
		body := []byte(fmt.Sprintf("%s via %s #%d %s", key, via, seq, randomName(16)))
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		info, err := c.PutObject(cctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		w := partitionWrite{via: via, key: key, body: body, versionID: info.VersionID, err: err}
		mu.Lock()
		writes = append(writes, w)
		mu.Unlock()
		return w
	}
	for i := range 10 {
		if w := put(maj[i%2], fmt.Sprintf("n%d", i%2+1), fmt.Sprintf("k%d", i), i); w.err != nil {
			t.Fatalf("PUT before the partition: %v", w.err)
		}
	}

	waitLocalReads(t, nodes, 60*time.Second)
	p := cutOff(t, nodes[2])
	cut := time.Now()
	// n3 read k0 locally until the cut. The majority overwrites k0 at once;
	// once that is acknowledged, n3 must not serve the old k0.
	{
		start := time.Now()
		w := put(maj[0], "n1", "k0", 5000)
		if w.err != nil {
			t.Fatalf("PUT right after the cut: %v", w.err)
		}
		took := time.Since(start)
		got, err := getBytes(ctx, iso, b, "k0", minio.GetObjectOptions{})
		if err == nil && !bytes.Equal(got, w.body) {
			t.Fatalf("cut-off n3 served a stale k0 after the majority's overwrite was acknowledged: %q", got)
		}
		t.Logf("partition: overwrite acknowledged %v after the cut; n3 then answered %v", took.Round(time.Millisecond), errCode(err))
	}
	// n1 notices n3 is gone (gossip), within a bound.
	var seen time.Duration
	{
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := retry(dctx, func() error {
			st, _, err := adminStatus(dctx, nodes[0], testClusterSecret)
			if err != nil {
				return err
			}
			for _, m := range st.Members {
				if m.ID == "n3" && m.State != cluster.Alive {
					return nil
				}
			}
			return fmt.Errorf("n1 still sees n3 alive")
		})
		cancel()
		if err != nil {
			t.Errorf("partition: %v after 30s", err)
		}
		seen = time.Since(cut)
	}

	// During the partition: 2 writers and 2 readers on the majority side,
	// one writer through n3, for 6s (and at least 3 attempts through n3).
	var wg sync.WaitGroup
	var majFailures []string
	var majReads atomic.Int64
	end := time.Now().Add(6 * time.Second)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for seq := 0; time.Now().Before(end); seq++ {
				c, via := maj[w%2], fmt.Sprintf("n%d", w%2+1)
				if w < 2 {
					if r := put(c, via, fmt.Sprintf("k%d", rng.IntN(10)), 100*w+seq); r.err != nil {
						mu.Lock()
						majFailures = append(majFailures, fmt.Sprintf("PUT %s via %s: %v", r.key, via, r.err))
						mu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				var pick partitionWrite
				for tries := 0; tries < 10; tries++ {
					if cand := writes[rng.IntN(len(writes))]; cand.err == nil && cand.via != "n3" {
						pick = cand
						break
					}
				}
				mu.Unlock()
				if pick.key == "" {
					continue
				}
				got, err := getBytes(ctx, maj[(w+1)%2], b, pick.key, minio.GetObjectOptions{VersionID: pick.versionID})
				if err != nil || !bytes.Equal(got, pick.body) {
					mu.Lock()
					majFailures = append(majFailures, fmt.Sprintf("GET %s?versionId=%s via n%d: %q, %v", pick.key, pick.versionID, (w+1)%2+1, got, err))
					mu.Unlock()
					continue
				}
				majReads.Add(1)
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	var isoTimes []time.Duration
	for seq := 0; seq < 3 || time.Now().Before(end); seq++ {
		start := time.Now()
		put(iso, "n3", fmt.Sprintf("k%d", seq%10), 1000+seq)
		isoTimes = append(isoTimes, time.Since(start).Round(time.Millisecond))
	}
	wg.Wait()
	p.heal()
	healed := time.Now()
	t.Logf("partition: n1 saw n3 as not alive %v after the cut; partition held %v", seen.Round(100*time.Millisecond), healed.Sub(cut).Round(100*time.Millisecond))

	var acked, majAcked, isoAcked, refused int
	var isoOther []string
	for _, w := range writes {
		switch {
		case w.err == nil:
			acked++
			if w.via == "n3" {
				isoAcked++
			} else {
				majAcked++
			}
		case w.via == "n3" && minio.ToErrorResponse(w.err).StatusCode == http.StatusServiceUnavailable:
			refused++
		case w.via == "n3":
			isoOther = append(isoOther, fmt.Sprintf("PUT %s: %v", w.key, w.err))
		}
	}
	t.Logf("partition: majority side %d writes and %d reads acknowledged; through n3: %d acknowledged, %d refused with 503, %d other errors; n3 write latencies %v",
		majAcked-10, majReads.Load(), isoAcked, refused, len(isoOther), isoTimes)
	if len(majFailures) > 0 {
		sort.Strings(majFailures)
		t.Errorf("%d requests failed on the majority side during the partition; first: %s", len(majFailures),
			strings.Join(majFailures[:min(5, len(majFailures))], "; "))
	}
	if majAcked-10 < 10 {
		t.Errorf("only %d writes acknowledged on the majority side during the partition", majAcked-10)
	}
	if len(isoOther) > 0 {
		t.Errorf("writes through the isolated n3 neither acknowledged nor refused with 503: %s", strings.Join(isoOther, "; "))
	}
	if refused+isoAcked == 0 {
		t.Errorf("no write through n3 was attempted")
	}

	// Healing: every member alive, no backlog, and every member holds every
	// acknowledged version (N=3 with three nodes).
	hctx, cancel := context.WithTimeout(ctx, memberDeadline)
	defer cancel()
	last, err := waitMembers(hctx, nodes, func(m cluster.MemberStatus) string {
		if m.State != cluster.Alive || m.Backlog != 0 || m.Versions != int64(acked) || m.Error != "" {
			return fmt.Sprintf("state %s versions %d (want %d acknowledged) backlog %d healing %v error %q",
				m.State, m.Versions, acked, m.Backlog, m.Healing, m.Error)
		}
		return ""
	})
	if err != nil {
		t.Fatalf("not healed within %v after the partition ended: %s", memberDeadline, last)
	}
	t.Logf("partition heal: every node alive with all %d acknowledged versions and no backlog %v after the partition ended",
		acked, time.Since(healed).Round(100*time.Millisecond))

	// Every acknowledged version readable with the right bytes through every
	// node; no version carries the bytes of a refused write.
	ackedETag := map[string]bool{}
	refusedETag := map[string]string{}
	for _, w := range writes {
		if w.err == nil {
			ackedETag[md5hex(w.body)] = true
		} else {
			refusedETag[md5hex(w.body)] = w.key
		}
	}
	for _, n := range nodes {
		c := n.Client(t)
		for _, w := range writes {
			if w.err != nil {
				continue
			}
			got, err := getBytes(ctx, c, b, w.key, minio.GetObjectOptions{VersionID: w.versionID})
			if err != nil || !bytes.Equal(got, w.body) {
				t.Errorf("acknowledged %s version %s (via %s) through %s after healing: %q, %v", w.key, w.versionID, w.via, n.NodeID, got, err)
			}
		}
		count := 0
		for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("list versions through %s: %v", n.NodeID, o.Err)
			}
			count++
			etag := trimETag(o.ETag)
			if key, ok := refusedETag[etag]; ok {
				t.Errorf("through %s: a write refused during the partition appears: %s version %s", n.NodeID, key, o.VersionID)
			} else if !ackedETag[etag] {
				t.Errorf("through %s: unknown version %s of %s (etag %s)", n.NodeID, o.VersionID, o.Key, etag)
			}
		}
		if count != acked {
			t.Errorf("through %s: %d versions listed, want the %d acknowledged", n.NodeID, count, acked)
		}
	}
}
