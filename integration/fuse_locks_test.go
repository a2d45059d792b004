package integration

// Cross-mount locks through the real binary: two `bucketdb mount`
// processes of one bucket on one server, driven with flock(1).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// holdLock runs `flock -x path` around a shell that reports "locked" and
// waits for its stdin to close; it returns once the lock is held, and a
// function that releases it and waits for flock to exit.
func holdLock(t *testing.T, path string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command("flock", "-x", path, "sh", "-c", "echo locked; read x; exit 0")
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("flock -x %s: %q %v", path, line, err)
	}
	return cmd, func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("flock holder: %v", err)
		}
	}
}

// tryLock runs `flock -n -x path true` and reports whether it got the lock.
func tryLock(t *testing.T, path string) bool {
	t.Helper()
	err := exec.Command("flock", "-n", "-x", path, "true").Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return false
	}
	must(t, err)
	return true
}

func TestFuseLocksAcrossMounts(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	putBytes(t, c, bucket, "lockfile", nil, minio.PutObjectOptions{})
	a := mountBucket(t, srv, bucket, "--attr-ttl", "1s", "--lock-ttl", "3s")
	b := mountBucket(t, srv, bucket, "--attr-ttl", "1s", "--lock-ttl", "3s")

	_, release := holdLock(t, a.path("lockfile"))
	if tryLock(t, b.path("lockfile")) {
		t.Fatal("flock -n on mount B succeeded while mount A holds the lock")
	}
	// A blocking flock on B waits for A.
	waiter := exec.Command("flock", "-x", b.path("lockfile"), "echo", "got it")
	out, err := waiter.StdoutPipe()
	must(t, err)
	must(t, waiter.Start())
	t.Cleanup(func() { waiter.Process.Kill(); waiter.Wait() })
	got := make(chan string, 1)
	go func() { data, _ := io.ReadAll(out); got <- string(data) }()
	select {
	case s := <-got:
		t.Fatalf("flock -x on B finished (%q) while A holds the lock", s)
	case <-time.After(time.Second):
	}
	release()
	select {
	case s := <-got:
		if s != "got it\n" {
			t.Fatalf("waiter printed %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("flock -x on B still waiting 20s after A released")
	}
	must(t, waiter.Wait())
	if !tryLock(t, a.path("lockfile")) {
		t.Fatal("flock -n on A failed after every holder released")
	}

	// The lease of a dead mount expires after --lock-ttl.
	holder, _ := holdLock(t, a.path("lockfile"))
	if tryLock(t, b.path("lockfile")) {
		t.Fatal("flock -n on B succeeded while A holds the lock")
	}
	must(t, a.cmd.Process.Kill()) // SIGKILL: no release is ever sent
	<-a.done
	holder.Process.Kill()
	cmd := exec.Command("flock", "-w", "20", "-x", b.path("lockfile"), "true")
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flock on B after mount A was killed: %v %s\nserver log:\n%s", err, outb, srv.Log())
	}
}

func TestFuseLocksAppend(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	putBytes(t, c, bucket, "log.txt", nil, minio.PutObjectOptions{})
	a := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	b := mountBucket(t, srv, bucket, "--attr-ttl", "1s")

	const n = 100
	script := `for i in $(seq 1 ` + fmt.Sprint(n) + `); do flock -x "$1" sh -c 'echo "$2-$3" >> "$1"' sh "$1" "$2" "$i" || exit 1; done`
	cmds := []*exec.Cmd{
		exec.Command("sh", "-c", script, "sh", a.path("log.txt"), "A"),
		exec.Command("sh", "-c", script, "sh", b.path("log.txt"), "B"),
	}
	errs := make(chan error, len(cmds))
	for _, cmd := range cmds {
		go func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, out)
			}
			errs <- err
		}()
	}
	for range cmds {
		must(t, <-errs)
	}
	data, err := getBytes(context.Background(), c, bucket, "log.txt", minio.GetObjectOptions{})
	must(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("A-%d", i), fmt.Sprintf("B-%d", i))
	}
	sort.Strings(want)
	gotSorted := append([]string(nil), lines...)
	sort.Strings(gotSorted)
	if strings.Join(gotSorted, ",") != strings.Join(want, ",") {
		t.Fatalf("log has %d lines, want %d intact ones:\n%s", len(lines), 2*n, data)
	}
	// Each writer's own lines stay in order.
	next := map[byte]int{'A': 1, 'B': 1}
	for _, l := range lines {
		if l != fmt.Sprintf("%c-%d", l[0], next[l[0]]) {
			t.Fatalf("line %q out of order in:\n%s", l, data)
		}
		next[l[0]]++
	}
}

// SQLite on the mount, written from both mounts at once: its fcntl locks
// must exclude each other across mounts and each transaction must see the
// other mount's last commit.
func TestFuseLocksSQLite(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	a := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	b := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	run(t, a.Dir, "sqlite3", a.path("t.db"), "PRAGMA journal_mode=DELETE; CREATE TABLE t(who TEXT, n INTEGER);")

	const txns, per = 25, 20
	var sql strings.Builder
	fmt.Fprintf(&sql, ".timeout 60000\n")
	for i := 0; i < txns; i++ {
		sql.WriteString("BEGIN IMMEDIATE;\n")
		for j := 0; j < per; j++ {
			fmt.Fprintf(&sql, "INSERT INTO t VALUES('%%s', %d);\n", i*per+j)
		}
		sql.WriteString("COMMIT;\n")
	}
	errs := make(chan error, 2)
	for _, m := range []*fuseMount{a, b} {
		who := m.Dir
		cmd := exec.Command("sqlite3", "-bail", m.path("t.db"))
		cmd.Stdin = strings.NewReader(strings.ReplaceAll(sql.String(), "%s", who))
		go func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("sqlite3 on %s: %v: %s", who, err, out)
			}
			errs <- err
		}()
	}
	for range 2 {
		must(t, <-errs)
	}
	for _, m := range []*fuseMount{a, b} {
		out := run(t, m.Dir, "sqlite3", m.path("t.db"), "PRAGMA integrity_check; SELECT count(*), count(DISTINCT who || n) FROM t;")
		if want := fmt.Sprintf("ok\n%d|%d\n", 2*txns*per, 2*txns*per); out != want {
			t.Fatalf("on %s: %q, want %q", m.Dir, out, want)
		}
	}
}
