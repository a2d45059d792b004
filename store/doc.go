// Package store is one node's disk engine: buckets, object versions, delete
// markers, multipart uploads, tags and bucket configuration documents, kept
// in BadgerDB (metadata) and plain files (object data). The cluster layer
// wraps one Store per node; a *Store also satisfies the S3 object-layer
// interface on its own and then behaves exactly like S3.
//
// # Concepts
//
// A bucket holds keys; a key holds versions ordered by version ID. Version
// IDs (NewVersionID) are 32 hex characters: 8 bytes of hybrid-logical-clock
// time (Clock) then 8 random bytes, so they sort by time and are unique
// across nodes; the cluster coordinator mints them and pins them with
// PutOptions.VersionID so all replicas agree. The null version (written while
// versioning is off or suspended) is shown as "null" but is ordered by the ID
// it was written with (ObjectInfo.InternalVersionID). A delete marker is a
// version without data. The latest version of a key is the one with the
// greatest ID; a per-key latest index makes GET, PUT and ListObjects cost the
// same whether a key has one version or ten thousand, and a live-key index
// (the latest records of keys whose latest version is not a delete marker)
// lets ListObjects pass over deleted keys without visiting them.
//
// The Badger key layout is declared in keys.go, with a table.
//
// # Data
//
// Objects up to Config.InlineThreshold live inside their version record with
// a CRC32C. Larger objects, and every multipart part, are streamed through a
// bounded buffer into a data file data/ab/cd/<fileID>: 64 KiB blocks each
// followed by its CRC32C, so a ranged read verifies only the blocks it
// touches. A read that finds a mismatch fails with an error wrapping
// ErrChecksumMismatch; it never returns wrong bytes. Scrub verifies all.
// A version record lists its extents (inline bytes or a file, with sizes);
// completing a multipart upload makes the version reference the part files,
// copying no data.
//
// # Durability
//
// A write streams its body into a new data file, fsyncs the file and its
// directory, then commits in ONE Badger transaction (synchronous writes) the
// version record, its tags, the reference records of its files, the latest
// index and the null pointer, and the removal of the version it replaces.
// Preconditions (If-Match, If-None-Match, fencing token) are checked inside
// that transaction. Only after the commit are replaced files deleted. A crash
// therefore leaves the old or the new version, never a torn one; a crash can
// only leave unreferenced files, which the orphan sweep removes (at start-up
// for files older than the process, and in RunGC for files older than
// Config.OrphanGrace; files being written are tracked and never swept).
//
// # Limits
//
// A completion or abort of an upload with the maximum 10,000 parts fits in
// one Badger transaction with the default MemTableSize (16 MiB); lowering it
// far below that can make such commits fail. A version record lists all its
// parts, so reading the latest version of a 10,000-part object decodes a
// record of about 2 MB. A reader that outlives the deletion of its version
// fails when it reaches a data file it had not opened yet.
//
// # Concurrency
//
// Every method is safe for concurrent use. Writers use Badger's optimistic
// transactions: on a conflict an unconditional write is retried, a
// conditional one fails with ErrConditionalConflict. Readers see a
// consistent snapshot; a reader that loses its data file to a concurrent
// overwrite re-resolves the version. DeleteBucket excludes version commits
// with a store-wide gate. Close stops background work (start-up sweep, GC
// loop), waits for running calls, then closes Badger; readers already
// returned by GetObject keep working on their open files.
package store
