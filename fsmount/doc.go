// Package fsmount is BucketDB's FUSE client: it mounts a bucket, or the keys
// under a prefix of one, as a local directory (`bucketdb mount`). It is
// built on go-fuse v2's fs package and speaks plain S3 through minio-go, so
// it works against any BucketDB node and against any S3 server. It imports
// nothing from the server packages.
//
// # Structure
//
// The file system consumes the small Bucket interface (bucket.go), which
// S3Bucket implements over S3 (with retries, backoff and failover between
// endpoints) and MemBucket in memory for tests. FS builds the tree on
// demand: Lookup and Readdir create dirNode and fileNode inodes; an inode's
// object key is its path below the mount root, so a rename in the kernel's
// tree renames everything below it.
//
// # Mapping
//
//   - A directory is a "/"-delimited key prefix. mkdir writes a marker
//     object "dir/" so empty directories persist; prefixes without a marker
//     (implicit directories, e.g. from an S3 PUT of a/b/c) are directories
//     too. Removing the last entry of an implicit directory first writes its
//     marker, so the directory does not vanish. rmdir of a non-empty
//     directory fails with ENOTEMPTY.
//   - readdir is ListObjectsV2 with delimiter "/" across all pages, with the
//     metadata=true extension (minio-go's WithMetadata) so that `ls -l` of N
//     files costs no HEAD requests; against a server that returns no
//     metadata in listings, each entry is HEADed instead. A listing answers
//     lookups for max(--attr-ttl, 1s); once it answered many lookups (a
//     scan such as ls -l of a large directory that outlasts it), its
//     expiry lists the directory again rather than probing each name. A
//     name the server did not have is remembered as missing for
//     --attr-ttl (forgotten on any change in the directory), so the
//     kernel's second lookup before an O_EXCL create costs nothing.
//     S3Bucket sends ListObjectsV2 itself: it requests the next page as
//     soon as a page arrived and parses pages with a small scanner
//     (s3list.go), several times faster than encoding/xml.
//   - A file is an object. Attributes are stored as s3fs stores them:
//     x-amz-meta-mode (decimal st_mode including the file-type bits),
//     x-amz-meta-uid, x-amz-meta-gid, x-amz-meta-mtime and -ctime (decimal
//     epoch seconds, so the times the mount records are whole seconds from
//     the start; rclone's fractional mtime is read too), and -atime when
//     the access time differs from mtime (absent, it reads as mtime; reads
//     do not move it, as with noatime). Objects without them get --uid,
//     --gid, --file-mode, --dir-mode and the object's Last-Modified time.
//     chmod, chown and utimens persist: stored with the next upload of a
//     file being written, otherwise at once by a CopyObject of the object
//     onto itself with replaced metadata. The kernel checks access against
//     these modes and owners (default_permissions), so with allow_other
//     each user gets what a local file system would give.
//   - A symlink is an object whose body is the target and whose mode has
//     S_IFLNK (s3fs's representation); a FIFO, socket or device node made
//     by mknod is an empty object whose mode has its type (and a device
//     node's number in x-amz-meta-rdev). Hard links fail with ENOTSUP.
//     Extended attributes in the user.* namespace are stored in
//     x-amz-meta-xattr as s3fs stores them (URL-encoded JSON, base64
//     values), within S3's 2 KB of user metadata (ENOSPC beyond); other
//     namespaces answer ENOTSUP.
//   - rename of a file is a server-side copy then a delete (pending writes
//     are uploaded first); of a directory, a copy of every key below it,
//     then their deletion. The destination is replaced as POSIX says (a
//     file by a file, an empty directory by a directory; ENOTEMPTY,
//     EISDIR, ENOTDIR otherwise). S3 has no atomic rename: a crash in the
//     middle of a directory rename leaves keys under both names.
//
// # Names
//
// Keys that cannot be file names are hidden, never shown twice and never
// fatal:
//   - a key with an empty segment (a//b) or a "." or ".." segment: the
//     offending segment is not listed, so the key is unreachable;
//   - a segment longer than 255 bytes or containing NUL: not listed; new
//     names longer than 255 bytes fail with ENAMETOOLONG;
//   - an object "x" next to a prefix "x/": the directory wins and the
//     object is hidden (it is still there in S3);
//   - an object "x" whose x-amz-meta-mode says S_IFDIR (an old s3fs
//     directory object) is shown as the directory x.
//
// # Versions
//
// MOUNT/.versions is the bucket's history, read-only, built on demand from
// ListObjectVersions (the optional VersionedBucket capability, which
// S3Bucket and MemBucket have; without it .versions is an ordinary name).
// readdir of the root never lists it, so find, du and rsync do not walk
// it, but it can be entered by name. A real object named ".versions" at
// the mount root is shadowed by it.
//   - .versions/DIR/ mirrors the tree, including names whose current
//     version is a delete marker and directories deleted entirely: one
//     delimited version listing of the prefix, all pages, names
//     de-duplicated; directories come from common prefixes (a directory
//     wins over a same-named file, as in the live tree).
//   - .versions/PATH/TO/FILE/ is a directory with one entry per version,
//     named <UTC time>~<ID><ext> with a colon-free, fixed-width time
//     (2026-11-25T18-04-05.123Z~3f2a9c1e.txt), so names sort oldest to
//     newest. <ID> is the tail of the version ID, 8 characters or as many
//     more as keep the names of this file unique (the tail: BucketDB's IDs
//     begin with a clock that the time already shows); <ext> is the file's
//     extension. A delete marker is an empty entry named <time>~<ID>.deleted.
//     Reading an entry reads that version (ranged GETs with versionId,
//     through the read cache; a version never changes, so the kernel keeps
//     its pages). Size and mode are the version's; mtime, ctime and atime
//     are the version's LastModified even if its x-amz-meta-mtime says
//     otherwise, so that ls -lt agrees with the names (a symlink's version
//     is shown as a regular file holding the target). The extended
//     attributes user.bucketdb.version_id (the full ID), user.bucketdb.etag
//     (none for delete markers) and user.bucketdb.latest ("true"/"false")
//     describe it.
//   - .versions/@TIME/ (an RFC 3339 time such as @2026-11-25T18:00:00Z, or
//     the colon-free form of entry names) is the whole mounted tree as it
//     was at TIME: for each key the newest version with LastModified <=
//     TIME, hidden if that is a delete marker or there is none. Its files
//     look as they did then (mode, owner and x-amz-meta-mtime as in the
//     live tree; symlinks are symlinks). A directory is shown if some key
//     below it was live at TIME, found by a version listing of the
//     directory that stops at the first such key. Time views are entered
//     by name only; .versions does not list them.
//   - Every change inside (write, create, mkdir, rename, unlink, rmdir,
//     chmod, setxattr) fails with EROFS, as do renames into .versions and
//     removing or renaming .versions itself.
//   - Restoring is cp .versions/a/b.txt/ENTRY a/b.txt: an ordinary write,
//     so the restored file is a new version and the old ones stay.
//   - An unversioned bucket lists one version per object, ID "null": each
//     file has one entry.
//   - Listings answer lookups for max(--attr-ttl, 1s); readdir always lists
//     afresh. Looking up one name lists only that key (and one entry of
//     the prefix below it), so a path into a large tree costs a few
//     requests; a file's version directory reads all its versions, 1000 per
//     page, once per readdir.
//
// # Reads and writes
//
// Reads of a file without local changes are ranged GETs of fixed blocks
// (Config.BlockSize) conditioned on the ETag, through a read cache shared
// by every reader of the mount (bounded by Config.CacheBlocks) with
// adaptive read-ahead: the window doubles while a file is read
// sequentially, up to Config.MaxReadAhead blocks, and collapses on random
// access. A read that finds the object changed re-reads its attributes and
// retries with the new version. The mount raises the kernel's read-ahead
// for itself (read_ahead_kb of its bdi, Config.KernelReadAhead, when
// running as root), so sequential reads arrive as 1 MiB requests instead
// of 128 KiB ones.
//
// Writes of every kind (sequential, random, append, truncate, holes) go to
// a sparse staging file per open dirty file in --cache-dir, unlinked at
// creation so a crash leaves nothing. The staging file records which
// ranges were written; the others come from the object (fetched with
// If-Match at upload time) or are zeros past a truncation. All descriptors
// of a file share its staging, so they see each other's writes. On flush
// (every close), fsync and before rename the file is uploaded: one PUT up
// to Config.PartSize, parallel multipart parts above (a chmod, chown or
// utimens that would store the values the server already holds, such as
// touch in the second of a write, sends nothing). A writer that writes
// sequentially from offset 0 streams: each full part is uploaded while it
// writes, at most Config.UploadConcurrency in flight (the writer waits
// beyond that), and its bytes are released from the staging file, so a
// 10 GiB copy needs neither 10 GiB of memory nor of staging. Writing or
// reading behind a streamed part completes the upload first and continues
// from the new object. A file cannot grow past what 10,000 parts hold
// (parts grow by PartSize every 1,000: 55,000 × PartSize in all, some 860
// GiB at 16 MiB) nor past S3's 5 TiB: writes and truncations beyond fail
// with EFBIG at once. close returns EIO when the upload failed; fsync
// returns only once the server committed the object. The one close that
// does not upload is a shell redirection's first (open, dup2, close the
// original): while the closing thread holds another descriptor on a file
// that is new or truncated and still empty (/proc/TID/fdinfo), the upload
// waits for that descriptor's close, so that overwriting a file with > puts
// no empty version in between. fsync of a directory uploads the files
// pending in it.
//
// A file that is unlinked or replaced by a rename while open keeps its
// content for the descriptors still open, as on a local file system: the
// object is copied into the staging file before it goes (up to 256 MiB;
// reads of a larger one fail once its object is gone). A directory's mtime
// and ctime move on with the entries this mount adds, removes or renames;
// they are kept in memory, not written to the marker.
//
// # Consistency
//
// Close-to-open: open revalidates a file older than --attr-ttl with a HEAD
// and keeps the kernel's page cache only when the ETag is still the one
// its pages were read from (a lookup may have learnt of the new ETag
// first, so "unchanged since the last look" would not do); entries
// and attributes are cached by the kernel for --attr-ttl, so an object
// written or deleted through S3 is seen at the latest one TTL later. Files
// with local changes are never overridden by the server's view. statfs
// reports a fixed 1 PiB capacity (S3 has no free-space notion) and
// 255-byte names.
//
// # Locks
//
// flock and fcntl locks exclude each other across mounts (and machines):
// the kernel forwards them (go-fuse's EnableLocks; flock(2) arrives as
// SETLK/SETLKW with FUSE_LK_FLOCK) to fileNode's Setlk, Setlkw and Getlk
// (flock.go), which take the cluster lock on the file's key through the
// bucket's LockingBucket capability (locks.go; S3Bucket implements it over
// the SigV4-signed ?lock API, MemBucket in memory).
//   - A write lock (F_WRLCK, LOCK_EX) is an exclusive lock, a read lock
//     (F_RDLCK, LOCK_SH) a shared one. fcntl byte ranges are widened to
//     the whole file: the mount remembers each owner's ranges and holds
//     one lease per (file, owner) in the strongest mode they need,
//     released with the last range (so SQLite's several lock bytes work).
//     Converting a held lease drops it first, as flock(2) does, so a
//     conversion is not atomic; if the new mode is refused the old one is
//     taken again without waiting.
//   - F_SETLK and LOCK_NB fail with EAGAIN (EWOULDBLOCK) while another
//     owner holds a conflicting lock; F_SETLKW and blocking flock long-poll
//     the server (wait= of 1 s growing to 5 s per request) until granted or
//     interrupted (EINTR). F_GETLK inspects the key's holders and reports a
//     conflicting one (l_pid only for holders on this mount, else 0).
//   - Holders are tracked per (file, kernel lock owner): the open file for
//     flock, the process for fcntl. Owners on one mount exclude each other
//     through the server too. The owner text the server shows names the
//     host, pid and mount.
//   - A held lease (--lock-ttl, default 30 s) is renewed every TTL/3 by a
//     goroutine of the FS. It is released on unlock, on the last close of
//     the open file that took it (process exit closes it), and by Close
//     (unmount). If the mount process dies, the lease expires after the
//     TTL and other mounts can take the lock.
//   - After a grant the file's attributes are re-read (HEAD) and the
//     kernel's cached attributes and pages of it are dropped, so the next
//     read sees what the previous holder wrote and closed. Writes through
//     an O_APPEND descriptor go to the end of the file as the mount knows
//     it, not the kernel's possibly stale size.
//   - Uploads, copies and multipart completions of a key on which this
//     mount holds an exclusive lock carry x-bucketdb-fencing-token (added
//     below minio-go by the transport, unsigned), so a holder that paused
//     past its lease cannot overwrite the next holder's data: the server
//     refuses it (EIO).
//   - Against a server without the lock API (the mount probes GET ?lock
//     on mount) or with --local-locks, the mount does not ask for lock
//     forwarding: the kernel keeps flock and fcntl locks, which then
//     exclude each other within this mount only.
//
// Limitations: closing any descriptor of a file drops the fcntl locks
// on it that the closing thread took (go-fuse does not pass FLUSH's lock
// owner, so the thread ID stands in for the process); locks another
// thread took stay until the descriptor that took them is closed. Leases
// are renewed without a bound on how long the server stays unreachable,
// and a lost lease (renewal refused) is only logged; later writes then
// carry a stale fencing token and are refused.
//
// # Errors
//
// FS.errnoOf is the one place errors become errno values (ENOENT, EEXIST,
// EACCES, EROFS, ENAMETOOLONG, EIO, …); unknown errors become EIO and are
// logged once. S3Bucket retries transient failures (5xx, connection
// errors) with exponential backoff, moving to the next endpoint, and bounds
// every wait (dial and response-header timeouts, per-operation deadlines),
// so no operation hangs forever on a dead node. A GET body cut off
// mid-stream (the node died while sending it) is fetched again, never kept
// short.
//
// # Concurrency
//
// go-fuse calls node methods concurrently. A fileNode's io lock serialises
// its content operations (write, upload, reads of staged data); nodeBase.mu
// guards attributes; lock order is io then mu. Part uploads run on
// goroutines owned by their streamUpload, which waits for them before it
// completes or aborts; read-ahead goroutines are tracked by FS and waited
// for by Close.
package fsmount
