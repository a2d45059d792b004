package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// callClient returns a Replica reaching addr over a transport of its own,
// signing with secret.
func callClient(t *testing.T, secret, addr string, timeout time.Duration) (*httpReplica, *httpTransport) {
	t.Helper()
	tr := newHTTPTransport("tester", deriveSecret(secret), store.NewClock(), timeout)
	t.Cleanup(tr.close)
	return tr.To(Member{ID: "peer", RPCAddr: addr}).(*httpReplica), tr
}

func TestCallChannelConcurrentCalls(t *testing.T) {
	nd, srv := startHTTPNode(t, "a", "s3cret", nil)
	ctx := context.Background()
	if err := nd.st.CreateBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		if _, err := nd.st.PutObject(ctx, "b", fmt.Sprint("k", i), strings.NewReader(strings.Repeat("x", i)), int64(i), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r, tr := callClient(t, "s3cret", srv.Listener.Addr().String(), 10*time.Second)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for range 50 {
				info, _, err := r.Get(ctx, GetRequest{Bucket: "b", Key: fmt.Sprint("k", g), Head: true})
				if err != nil || info.Size != int64(g) || info.Key != fmt.Sprint("k", g) {
					t.Errorf("head k%d: %+v %v", g, info, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// A definitive error crosses intact.
	if _, _, err := r.Get(ctx, GetRequest{Bucket: "b", Key: "nope", Head: true}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("missing key: %v", err)
	}
	// A small put's prepare carries its body inside the call.
	body := "small body"
	ref := PrepareRequest{Kind: opPut, Bucket: "b", Key: "put", Size: int64(len(body)), StageID: newStageID()}
	framedBody, err := framed(strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Prepare(ctx, ref, framedBody); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(ctx, StageRef{StageID: ref.StageID}); err != nil {
		t.Fatal(err)
	}
	mustGet(t, nd, "b", "put", body)
	if n := len(tr.muxes); n != 1 {
		t.Fatalf("%d call channels, want 1", n)
	}
}

func TestCallChannelWrongSecret(t *testing.T) {
	_, srv := startHTTPNode(t, "a", "s3cret", nil)
	r, _ := callClient(t, "other", srv.Listener.Addr().String(), 10*time.Second)
	_, err := r.Bucket(context.Background(), BucketRequest{Op: bucketCreate, Bucket: "b"})
	if !errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("call with the wrong secret: %v", err)
	}
}

// A replayed (validly signed) upgrade request yields a connection on which
// no frame passes without the session key.
func TestCallChannelRejectsForgedFrames(t *testing.T) {
	nd, srv := startHTTPNode(t, "a", "s3cret", nil)
	addr := srv.Listener.Addr().String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tr := newHTTPTransport("tester", deriveSecret("s3cret"), store.NewClock(), time.Second)
	if _, _, err := tr.handshake(conn, addr); err != nil {
		t.Fatal(err)
	}
	// Frames keyed with anything but the session key (here: the key of
	// other nonces) are refused and the connection dropped.
	js := `{"Op":"create","Bucket":"forged"}`
	f, err := encodeRequest(1, 0, "bucket", "", []byte(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	fw := newFrameWriter(conn, muxKey(deriveSecret("s3cret"), strings.Repeat("0", 32), strings.Repeat("1", 32)), 'c')
	if err := fw.write(f); err != nil {
		t.Fatal(err)
	}
	fw.w.Flush()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		t.Fatalf("connection still open after a forged frame (read %d, %v)", n, err)
	}
	if _, err := nd.st.GetBucket(context.Background(), "forged"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("forged call was executed: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fakePeer accepts call channels and hands each connection to serve.
func fakePeer(t *testing.T, secret string, proof func(cnonce, snonce string) string, serve func(conn net.Conn, key []byte)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	key := deriveSecret(secret)
	var upgrades atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verify(r, key, time.Now()); err != nil || r.URL.Path != muxPath {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		upgrades.Add(1)
		cnonce := r.URL.Query().Get("nonce")
		snonce := newNonce()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n%s: %s\r\n%s: %s\r\n\r\n",
			muxProto, hdrMuxNonce, snonce, hdrMuxProof, proof(cnonce, snonce))
		brw.Flush()
		serve(conn, muxKey(key, cnonce, snonce))
	}))
	t.Cleanup(srv.Close)
	return srv, &upgrades
}

func TestCallChannelPeerMustProveSecret(t *testing.T) {
	srv, _ := fakePeer(t, "s3cret", func(cnonce, snonce string) string {
		return muxProof(deriveSecret("guess"), cnonce, snonce)
	}, func(conn net.Conn, _ []byte) { conn.Close() })
	r, _ := callClient(t, "s3cret", srv.Listener.Addr().String(), time.Second)
	_, err := r.Stats(context.Background(), Empty{})
	if !errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), "prove") {
		t.Fatalf("peer without the secret: %v", err)
	}
}

// A peer that accepts calls but never answers: each call gives up after
// the timeout, and the silent connection is dropped so the next call dials
// afresh.
func TestCallChannelSilentPeer(t *testing.T) {
	release := make(chan struct{})
	srv, upgrades := fakePeer(t, "s3cret", func(cnonce, snonce string) string {
		return muxProof(deriveSecret("s3cret"), cnonce, snonce)
	}, func(conn net.Conn, _ []byte) {
		defer conn.Close()
		go func() { bufio.NewReader(conn).WriteTo(discard{}) }()
		<-release
	})
	defer close(release)
	r, _ := callClient(t, "s3cret", srv.Listener.Addr().String(), 300*time.Millisecond)
	for i := range 2 {
		start := time.Now()
		_, err := r.Stats(context.Background(), Empty{})
		if !errors.Is(err, errUnreachable) {
			t.Fatalf("call %d to a silent peer: %v", i, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("call %d took %v", i, d)
		}
	}
	if n := upgrades.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the silent one dropped after its timeout)", n)
	}
}

// A call waiting on a connection that breaks fails at once, not after its
// timeout.
func TestCallChannelBrokenConnection(t *testing.T) {
	srv, _ := fakePeer(t, "s3cret", func(cnonce, snonce string) string {
		return muxProof(deriveSecret("s3cret"), cnonce, snonce)
	}, func(conn net.Conn, key []byte) {
		newFrameReader(bufio.NewReader(conn), key, 'c').read() // the request
		conn.Close()
	})
	r, _ := callClient(t, "s3cret", srv.Listener.Addr().String(), time.Minute)
	start := time.Now()
	_, err := r.Stats(context.Background(), Empty{})
	if !errors.Is(err, errUnreachable) {
		t.Fatalf("call on a broken connection: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("call took %v", d)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
