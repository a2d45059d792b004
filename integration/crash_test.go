package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The store keeps objects up to this size inline in their metadata record;
// larger ones, and every multipart part, get one data file each.
const inlineThreshold = 128 << 10

// dataFiles counts the object data files of a node (DATA/store/data/ab/cd/<id>).
func dataFiles(t testing.TB, s *Server) int {
	t.Helper()
	n := 0
	root := filepath.Join(s.DataDir, "store", "data")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && len(d.Name()) == 32 {
			if _, err := hex.DecodeString(d.Name()); err == nil {
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return n
}

// waitDataFiles waits (bounded) until the node holds exactly want data
// files, as the start-up orphan sweep runs in the background.
func waitDataFiles(t testing.TB, s *Server, want int, why string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got int
	for {
		got = dataFiles(t, s)
		if got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want {
		t.Errorf("%s: %d data files under %s, want %d (orphans left behind, or live data missing)",
			why, got, filepath.Join(s.DataDir, "store", "data"), want)
	}
}

// noRetryClient is a minio-go client that does not retry, so a request that
// failed because the server died is reported as failed.
func noRetryClient(t testing.TB, s *Server) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       testRegion,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crashBody is a self-describing body: a header line naming the key, the
// writer and its sequence number, the payload length and its SHA-256, then
// the payload.
func crashBody(key string, writer, seq, n int) []byte {
	payload := make([]byte, n)
	io.ReadFull(newGen(uint64(writer)<<32|uint64(seq), int64(n)), payload)
	sum := sha256.Sum256(payload)
	head := fmt.Sprintf("BDBCRASH key=%s w=%d s=%d n=%d sha256=%s\n", key, writer, seq, n, hex.EncodeToString(sum[:]))
	return append([]byte(head), payload...)
}

// parseCrashBody checks a body read back and returns its writer and
// sequence number.
func parseCrashBody(key string, b []byte) (writer, seq int, err error) {
	head, payload, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return 0, 0, fmt.Errorf("no header line in %d bytes", len(b))
	}
	var k, sum string
	var n int
	if _, err := fmt.Sscanf(string(head), "BDBCRASH key=%s w=%d s=%d n=%d sha256=%s", &k, &writer, &seq, &n, &sum); err != nil {
		return 0, 0, fmt.Errorf("header %q: %v", head, err)
	}
	got := sha256.Sum256(payload)
	if k != key || n != len(payload) || hex.EncodeToString(got[:]) != sum {
		return 0, 0, fmt.Errorf("torn body: header %q, payload %d bytes, sha256 %x", head, len(payload), got)
	}
	return writer, seq, nil
}

// crashWrite is one overwrite as the client saw it.
type crashWrite struct {
	writer, seq int
	size        int
	start, ack  time.Time // ack is zero when no answer came (in flight at the crash)
}

// crashLog records every write per key.
type crashLog struct {
	mu     sync.Mutex
	writes map[string][]*crashWrite
}

// TestCrashDuringOverwrites: kill -9 the server while several writers
// overwrite the same keys; after a restart every key holds one complete body
// that a client was told succeeded (or one that was in flight at the crash),
// never one superseded by a later acknowledged write, never a torn or empty
// one; and the start-up sweep leaves no unreferenced data file.
func TestCrashDuringOverwrites(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	b := newBucket(t, s.Client(t))
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("crash/key-%02d", i)
	}
	log := &crashLog{writes: map[string][]*crashWrite{}}
	for round := range 2 {
		runCrashRound(t, s, b, keys, log, round)
		if t.Failed() {
			return
		}
		s.Start()
		live := verifyCrashState(t, s, b, keys, log)
		waitDataFiles(t, s, live, fmt.Sprintf("round %d after restart", round))
	}
}

func runCrashRound(t *testing.T, s *Server, b string, keys []string, log *crashLog, round int) {
	c := noRetryClient(t, s)
	const writers = 6
	var killed atomic.Bool
	var wg sync.WaitGroup
	var acked atomic.Int64
	errc := make(chan error, writers)
	for w := range writers {
		writer := round*100 + w
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(writer), 7))
			for seq := 1; ; seq++ {
				key := keys[rng.IntN(len(keys))]
				size := 1 + rng.IntN(400<<10) // inline and data-file sized
				body := crashBody(key, writer, seq, size)
				cw := &crashWrite{writer: writer, seq: seq, size: len(body), start: time.Now()}
				log.mu.Lock()
				log.writes[key] = append(log.writes[key], cw)
				log.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := c.PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
				cancel()
				if err != nil {
					if !killed.Load() {
						errc <- fmt.Errorf("writer %d: PUT %s before the crash: %v", writer, key, err)
					}
					return // the server is gone; this write stays "in flight"
				}
				log.mu.Lock()
				cw.ack = time.Now()
				log.mu.Unlock()
				acked.Add(1)
			}
		}()
	}
	// Let the writers overwrite for a while, then crash mid-stream.
	deadline := time.Now().Add(20 * time.Second)
	for acked.Load() < 150 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	killed.Store(true)
	s.Kill()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	t.Logf("round %d: %d acknowledged overwrites before kill -9", round, acked.Load())
	if acked.Load() < 20 {
		t.Fatalf("only %d writes acknowledged before the crash", acked.Load())
	}
}

// verifyCrashState reads every key back and returns how many of them are
// stored in data files.
func verifyCrashState(t *testing.T, s *Server, b string, keys []string, log *crashLog) int {
	c := s.Client(t)
	ctx := ctxT(t)
	live := 0
	for _, key := range keys {
		log.mu.Lock()
		writes := append([]*crashWrite(nil), log.writes[key]...)
		log.mu.Unlock()
		anyAcked := false
		for _, w := range writes {
			anyAcked = anyAcked || !w.ack.IsZero()
		}
		got, err := getBytes(ctx, c, b, key, minio.GetObjectOptions{})
		if errCode(err) == "NoSuchKey" {
			if anyAcked {
				t.Errorf("%s: missing after the crash although writes to it were acknowledged", key)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: GET after the crash: %v", key, err)
			continue
		}
		if len(got) == 0 {
			t.Errorf("%s: empty after the crash (never written empty)", key)
			continue
		}
		w, seq, err := parseCrashBody(key, got)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		var found *crashWrite
		for _, cw := range writes {
			if cw.writer == w && cw.seq == seq {
				found = cw
			}
		}
		if found == nil {
			t.Errorf("%s: holds writer %d seq %d, which never wrote it", key, w, seq)
			continue
		}
		if !found.ack.IsZero() {
			for _, later := range writes {
				if !later.ack.IsZero() && later.start.After(found.ack) {
					t.Errorf("%s: holds writer %d seq %d (acknowledged at %v), but writer %d seq %d started after that and was acknowledged: an acknowledged write was lost",
						key, w, seq, found.ack.Format(time.StampMicro), later.writer, later.seq)
					break
				}
			}
		}
		if len(got) > inlineThreshold {
			live++
		}
	}
	return live
}

// TestCrashDuringUploadPart: kill -9 while a part is streaming; after a
// restart the upload is still there with its completed parts, the torn part
// left no file behind, and the upload completes with the right MD5.
func TestCrashDuringUploadPart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tg := newTarget(t, s, nil)
	b := newBucket(t, s.Client(t))
	const partSize = 5 * mib
	id := createUpload(t, tg, b, "resumable", minio.PutObjectOptions{})
	parts := make([][]byte, 4)
	for i := range parts {
		parts[i] = make([]byte, partSize)
		io.ReadFull(newGen(uint64(300+i), partSize), parts[i])
	}
	etags := make([]string, 4)
	etags[0] = uploadPart(t, tg, b, "resumable", id, 1, parts[0])
	etags[1] = uploadPart(t, tg, b, "resumable", id, 2, parts[1])

	// Part 3 streams slowly; the server dies halfway through it.
	big := int64(24 * mib)
	sb := &slowBody{data: make([]byte, big), step: 256 << 10, delay: 20 * time.Millisecond, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		c := noRetryClient(t, s)
		_, err := (&minio.Core{Client: c}).PutObjectPart(context.Background(), b, "resumable", id, 3, sb, big, minio.PutObjectPartOptions{})
		done <- err
	}()
	<-sb.started
	time.Sleep(600 * time.Millisecond) // several MiB of the part are on the server
	s.Kill()
	if err := <-done; err == nil {
		t.Fatalf("UploadPart 3 succeeded although the server was killed mid-body")
	}
	s.Start()
	waitDataFiles(t, s, 2, "after restart (two complete parts; the torn part's file swept)")

	lp, err := tg.core().ListObjectParts(ctxT(t), b, "resumable", id, 0, 1000)
	if err != nil {
		t.Fatalf("ListParts after the crash: %v", err)
	}
	if len(lp.ObjectParts) != 2 {
		t.Fatalf("ListParts after the crash: %d parts %+v, want parts 1 and 2", len(lp.ObjectParts), lp.ObjectParts)
	}
	for i, p := range lp.ObjectParts {
		if p.PartNumber != i+1 || trimETag(p.ETag) != etags[i] || p.Size != partSize {
			t.Errorf("part listed as %+v, want number %d, ETag %s, size %d", p, i+1, etags[i], partSize)
		}
	}
	etags[2] = uploadPart(t, tg, b, "resumable", id, 3, parts[2])
	etags[3] = uploadPart(t, tg, b, "resumable", id, 4, parts[3])
	r := completeRaw(t, tg, b, "resumable", id, completeDoc(1, etags[0], 2, etags[1], 3, etags[2], 4, etags[3]))
	r.wantStatus(t, http.StatusOK)
	obj, err := s.Client(t).GetObject(ctxT(t), b, "resumable", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := streamMD5(obj)
	obj.Close()
	if want := md5hex(bytes.Join(parts, nil)); err != nil || n != 4*partSize || got != want {
		t.Errorf("completed object: md5 %s, %d bytes, %v; want %s", got, n, err, want)
	}
	if st, err := s.Client(t).StatObject(ctxT(t), b, "resumable", minio.StatObjectOptions{}); err != nil || st.ETag != multipartETag(parts...) {
		t.Errorf("completed ETag %q (%v), want %q", st.ETag, err, multipartETag(parts...))
	}
	// Completion references the part files: still exactly four.
	waitDataFiles(t, s, 4, "after completion")
	if strings.Contains(s.Log(), "panic") {
		t.Errorf("server log mentions a panic")
	}
}
