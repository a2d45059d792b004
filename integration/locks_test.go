package integration

import (
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// lockResult is the body of an acquire or renew.
type lockResult struct {
	LockToken    string
	FencingToken uint64
	Expires      string
}

// send is a goroutine-safe raw request: transport errors are returned.
func send(t testing.TB, s *Server, r rawReq) (*rawResp, error) {
	req := buildRaw(t, s, r)
	resp, err := rawHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func errorCode(r *rawResp) string {
	var e s3Error
	xml.Unmarshal(r.Body, &e)
	return e.Code
}

// acquire takes a lock; ok false on a conflict (or an unreachable node).
func acquire(t testing.TB, s *Server, bucket, key string, kv ...string) (lockResult, *rawResp, error) {
	qv := q(append([]string{"lock", ""}, kv...)...)
	r, err := send(t, s, rawReq{method: http.MethodPost, path: "/" + bucket + "/" + key, query: qv})
	if err != nil {
		return lockResult{}, nil, err
	}
	var res lockResult
	if r.Status == http.StatusOK {
		if err := xml.Unmarshal(r.Body, &res); err != nil {
			return res, r, err
		}
	}
	return res, r, nil
}

func release(t testing.TB, s *Server, bucket, key, token string) (*rawResp, error) {
	return send(t, s, rawReq{method: http.MethodDelete, path: "/" + bucket + "/" + key, query: q("lock", "", "token", token)})
}

func TestLocksCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	c := nodes[0].Client(t)
	bucket := newBucket(t, c)

	t.Run("IfNoneMatchRace", func(t *testing.T) {
		for round := range 20 {
			key := fmt.Sprintf("race-%d", round)
			var wins atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			for w := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := []byte(fmt.Sprintf("writer %d of round %d", w, round))
					r, err := send(t, nodes[w%3], rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
						header: hdr("If-None-Match", "*"), body: body})
					switch {
					case err != nil:
						t.Errorf("writer %d: %v", w, err)
					case r.Status == http.StatusOK:
						wins.Add(1)
						winner.Store(string(body))
					case r.Status == http.StatusPreconditionFailed && errorCode(r) == "PreconditionFailed",
						r.Status == http.StatusConflict && errorCode(r) == "ConditionalRequestConflict":
					default:
						t.Errorf("writer %d: %d %s", w, r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Fatalf("round %d: %d writers succeeded", round, n)
			}
			for _, s := range nodes {
				got := mustGet(t, s.Client(t), bucket, key, minio.GetObjectOptions{})
				if string(got) != winner.Load().(string) {
					t.Fatalf("round %d via %s: stored %q, winner wrote %q", round, s.NodeID, got, winner.Load())
				}
			}
		}
	})

	t.Run("CompareAndSwapCounter", func(t *testing.T) {
		const clients, increments = 16, 50
		key := "counter"
		putBytes(t, c, bucket, key, []byte("0"), minio.PutObjectOptions{})
		var wg sync.WaitGroup
		var attempts atomic.Int64
		for cl := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := 0; done < increments; {
					s := nodes[rand.IntN(3)]
					attempts.Add(1)
					r, err := send(t, s, rawReq{method: http.MethodGet, path: "/" + bucket + "/" + key})
					if err != nil || r.Status != http.StatusOK {
						t.Errorf("client %d get: %v %v", cl, err, r)
						return
					}
					n, _ := strconv.Atoi(string(r.Body))
					r2, err := send(t, s, rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
						header: hdr("If-Match", r.Header.Get("ETag")), body: []byte(strconv.Itoa(n + 1))})
					switch {
					case err != nil:
						t.Errorf("client %d put: %v", cl, err)
						return
					case r2.Status == http.StatusOK:
						done++
					case r2.Status == http.StatusPreconditionFailed, r2.Status == http.StatusConflict:
						time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
					default:
						t.Errorf("client %d put: %d %s", cl, r2.Status, r2.Body)
						return
					}
				}
			}()
		}
		wg.Wait()
		got := string(mustGet(t, c, bucket, key, minio.GetObjectOptions{}))
		if got != strconv.Itoa(clients*increments) {
			t.Fatalf("counter = %s, want %d (%d attempts)", got, clients*increments, attempts.Load())
		}
		t.Logf("%d increments in %d attempts", clients*increments, attempts.Load())
	})

	t.Run("LockedReadModifyWrite", func(t *testing.T) {
		const clients, rounds = 16, 4
		key := "locked-counter"
		putBytes(t, c, bucket, key, []byte("0"), minio.PutObjectOptions{})
		var inside atomic.Int32
		var wg sync.WaitGroup
		for cl := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					s := nodes[(cl+i)%3]
					g, r, err := acquire(t, s, bucket, key, "ttl", "30", "wait", "60", "owner", fmt.Sprint("client ", cl))
					if err != nil || r.Status != http.StatusOK {
						t.Errorf("client %d acquire: %v %v", cl, err, r)
						return
					}
					if inside.Add(1) != 1 {
						t.Errorf("two holders of an exclusive lock")
					}
					rg, err := send(t, s, rawReq{method: http.MethodGet, path: "/" + bucket + "/" + key})
					if err != nil || rg.Status != http.StatusOK {
						t.Errorf("client %d get: %v %v", cl, err, rg)
						return
					}
					n, _ := strconv.Atoi(string(rg.Body))
					rp, err := send(t, s, rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
						header: hdr("X-Bucketdb-Fencing-Token", strconv.FormatUint(g.FencingToken, 10)), body: []byte(strconv.Itoa(n + 1))})
					if err != nil || rp.Status != http.StatusOK {
						t.Errorf("client %d fenced put: %v %v", cl, err, rp)
					}
					inside.Add(-1)
					if rr, err := release(t, nodes[(cl+i+1)%3], bucket, key, g.LockToken); err != nil || rr.Status != http.StatusNoContent {
						t.Errorf("client %d release: %v %v", cl, err, rr)
					}
				}
			}()
		}
		wg.Wait()
		if got := string(mustGet(t, c, bucket, key, minio.GetObjectOptions{})); got != strconv.Itoa(clients*rounds) {
			t.Fatalf("counter = %s, want %d: an update was lost", got, clients*rounds)
		}
	})

	t.Run("LeaseExpiryFencesTheLateWriter", func(t *testing.T) {
		key := "lease"
		old, r, err := acquire(t, nodes[0], bucket, key, "ttl", "1", "owner", "sleepy")
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("acquire: %v %v", err, r)
		}
		_, r, _ = acquire(t, nodes[1], bucket, key, "owner", "eager")
		e := r.wantError(t, http.StatusConflict, "LockConflict")
		if !containsAll(e.Message, `"sleepy"`, "until") {
			t.Fatalf("conflict message %q names no holder", e.Message)
		}
		// The holder stops renewing; the next one waits for the lease to end.
		cur, r, err := acquire(t, nodes[1], bucket, key, "ttl", "30", "wait", "10", "owner", "eager")
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("acquire after expiry: %v %v", err, r)
		}
		if cur.FencingToken <= old.FencingToken {
			t.Fatalf("fencing token %d after %d", cur.FencingToken, old.FencingToken)
		}
		late := doRaw(t, nodes[2], rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
			header: hdr("X-Bucketdb-Fencing-Token", strconv.FormatUint(old.FencingToken, 10)), body: []byte("late")})
		late.wantError(t, http.StatusConflict, "StaleFencingToken")
		doRaw(t, nodes[0], rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
			query: q("lock", "", "token", old.LockToken, "ttl", "30")}).wantError(t, http.StatusConflict, "LockLost")
		doRaw(t, nodes[2], rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
			header: hdr("X-Bucketdb-Fencing-Token", strconv.FormatUint(cur.FencingToken, 10)), body: []byte("current")}).wantStatus(t, http.StatusOK)
		doRaw(t, nodes[2], rawReq{method: http.MethodDelete, path: "/" + bucket + "/" + key,
			header: hdr("X-Bucketdb-Fencing-Token", strconv.FormatUint(old.FencingToken, 10))}).wantError(t, http.StatusConflict, "StaleFencingToken")
		rn := doRaw(t, nodes[0], rawReq{method: http.MethodPut, path: "/" + bucket + "/" + key,
			query: q("lock", "", "token", cur.LockToken, "ttl", "60")})
		rn.wantStatus(t, http.StatusOK)
		insp := doRaw(t, nodes[2], rawReq{method: http.MethodGet, path: "/" + bucket + "/" + key, query: q("lock", "")})
		insp.wantStatus(t, http.StatusOK)
		if !containsAll(string(insp.Body), "<Owner>eager</Owner>", "<FencingToken>"+strconv.FormatUint(cur.FencingToken, 10)) {
			t.Fatalf("inspect: %s", insp.Body)
		}
		if r, err := release(t, nodes[1], bucket, key, cur.LockToken); err != nil || r.Status != http.StatusNoContent {
			t.Fatalf("release: %v %v", err, r)
		}
		doRaw(t, nodes[2], rawReq{method: http.MethodGet, path: "/" + bucket + "/" + key, query: q("lock", "")}).wantError(t, http.StatusNotFound, "NoSuchLock")
	})

	t.Run("BadInput", func(t *testing.T) {
		p := "/" + bucket + "/bad"
		for _, ttl := range []string{"-5", "0", "999999", "x"} {
			doRaw(t, nodes[0], rawReq{method: http.MethodPost, path: p, query: q("lock", "", "ttl", ttl)}).wantError(t, http.StatusBadRequest, "InvalidArgument")
		}
		doRaw(t, nodes[0], rawReq{method: http.MethodPost, path: p, query: q("lock", "", "mode", "both")}).wantError(t, http.StatusBadRequest, "InvalidArgument")
		doRaw(t, nodes[1], rawReq{method: http.MethodPut, path: p, query: q("lock", "", "token", "unknown")}).wantError(t, http.StatusConflict, "LockLost")
		doRaw(t, nodes[1], rawReq{method: http.MethodDelete, path: p, query: q("lock", "", "token", "unknown")}).wantError(t, http.StatusNotFound, "NoSuchLock")
		doRaw(t, nodes[1], rawReq{method: http.MethodDelete, path: p, query: q("lock", "")}).wantError(t, http.StatusBadRequest, "InvalidArgument")
		doRaw(t, nodes[2], rawReq{method: http.MethodPost, path: "/no-such-bucket-for-locks/k", query: q("lock", "")}).wantError(t, http.StatusNotFound, "NoSuchBucket")
		for _, h := range []string{"abc", "-1", "0", "99999999999999999999999"} {
			doRaw(t, nodes[2], rawReq{method: http.MethodPut, path: p, header: hdr("X-Bucketdb-Fencing-Token", h), body: []byte("x")}).wantError(t, http.StatusBadRequest, "InvalidArgument")
		}
	})

	t.Run("MinorityKilledWhileContended", func(t *testing.T) {
		key := "contended"
		held, r, err := acquire(t, nodes[0], bucket, key, "ttl", "60", "owner", "holder")
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("acquire: %v %v", err, r)
		}
		var inside, grants atomic.Int32
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for cl := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					s := nodes[(cl+i)%2] // the two survivors
					g, r, err := acquire(t, s, bucket, key, "ttl", "30", "wait", "1", "owner", fmt.Sprint("c", cl))
					if err != nil || r.Status != http.StatusOK {
						if err == nil && r.Status != http.StatusConflict && r.Status != http.StatusServiceUnavailable {
							t.Errorf("client %d: %d %s", cl, r.Status, r.Body)
						}
						continue
					}
					if inside.Add(1) != 1 {
						t.Errorf("two holders at once")
					}
					grants.Add(1)
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					release(t, s, bucket, key, g.LockToken)
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		nodes[2].Kill()
		time.Sleep(500 * time.Millisecond)
		if g := grants.Load(); g != 0 {
			t.Errorf("%d grants while the first holder held the lock", g)
		}
		if rr, err := release(t, nodes[1], bucket, key, held.LockToken); err != nil || rr.Status != http.StatusNoContent {
			t.Fatalf("release with a node down: %v %v", err, rr)
		}
		deadline := time.Now().Add(10 * time.Second)
		for grants.Load() < 20 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		if grants.Load() < 20 {
			t.Fatalf("only %d grants on the surviving majority", grants.Load())
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkLocks measures the lock API on a real three-node cluster:
// uncontended acquire+release (keys spread over the nodes) and contended
// acquire+release of one key by 16 clients.
//
//	go test -run '^$' -bench BenchmarkLocks -benchtime 400x ./integration/
func BenchmarkLocks(b *testing.B) {
	nodes := startCluster(b, 3)
	bucket := newBucket(b, nodes[0].Client(b))
	cycle := func(s *Server, key string, kv ...string) error {
		g, r, err := acquire(b, s, bucket, key, kv...)
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("acquire: %d %s", r.Status, r.Body)
		}
		rr, err := release(b, s, bucket, key, g.LockToken)
		if err == nil && rr.Status != http.StatusNoContent {
			err = fmt.Errorf("release: %d %s", rr.Status, rr.Body)
		}
		return err
	}
	b.Run("Uncontended", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := cycle(nodes[i%3], fmt.Sprintf("u%d", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Contended16", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				if err := cycle(nodes[i%3], "hot", "wait", "60"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
