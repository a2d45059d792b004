// Package cluster is BucketDB's object layer: it turns one or many nodes, each
// with its own *store.Store, into one S3 service. A single node is a cluster
// of one and runs exactly the same code.
//
// # Concepts
//
//   - Member registry: every node knows the members of the cluster (ID, gossip,
//     RPC and S3 addresses, and a lifecycle state active/leaving/removed). The
//     registry is persisted in the data dir, merged on every gossip push/pull
//     and on every anti-entropy pass, and changes only by joining or by Remove.
//   - Failure detection: github.com/hashicorp/memberlist (gossip encrypted
//     with a key derived from the cluster secret) says which members are
//     alive, suspect or dead. Liveness never changes placement: a dead member
//     keeps its place in the preference lists until it is removed, so a
//     minority can never reach a write quorum on its own.
//   - Placement: rendezvous hashing of (bucket, key) over the active members
//     gives an ordered preference list of N = min(Replicas, members) nodes.
//     Adding or removing one member moves about 1/n of the keys.
//   - Quorums: writes need W replicas, reads R (default majorities of N).
//   - Two-phase writes: every mutation of an object (put, delete, tags,
//     multipart completion) is first prepared on the replicas of its key (a
//     put streams its body into a durable store data file that no version
//     references yet; nothing is visible), and committed on every prepared
//     replica (a metadata transaction) only once W replicas prepared. A
//     write refused for lack of quorum is aborted everywhere and can never
//     surface later; prepared entries that never see a commit expire
//     (StageTTL). With a single replica prepare and commit collapse into one
//     direct write. A mutation committed on at least one replica is reported
//     as done, since anti-entropy would spread it anyway.
//   - Streaming: the coordinator reads a body once, in 256 KiB chunks, and
//     feeds each replica through a queue of 4 chunks; a replica that does
//     not take the next chunk within StallTimeout is dropped from the write,
//     which goes on if W replicas remain.
//   - Version IDs are minted by the coordinator from a hybrid logical clock
//     (store.Clock) that observes the timestamp carried by every RPC, so a
//     node whose clock is behind still orders its writes after what it saw.
//     Versions of a key are ordered by their internal version ID (the null
//     version keeps one too), which starts with the HLC reading. A new
//     version's ID is minted at commit time, after the prepare replies
//     carried every replica's clock, so it sorts after everything they hold.
//   - Reads ask R replicas of the preference list (this node first) for the
//     key's latest version, and the others too when those disagree, fail or
//     are slow; they take the newest of at least R answers (a version that
//     a disagreeing replica tombstoned does not count), stream the data
//     from one replica that holds it, and repair stale replicas in the
//     background.
//   - Listings merge the version listings of all reachable nodes (they fail
//     with store.ErrUnavailable when more than N-R nodes are unreachable).
//   - Healing is anti-entropy: every node periodically walks its own
//     versions, compares them (in batches) with the digests of the other
//     replicas of each key, pushes what they miss (same version ID, ETag,
//     ModTime, metadata and part layout; several keys at once, and a
//     version a live replica ahead in the key's preference list also holds
//     is left to that replica unless the last pass was unclean), honours
//     permanent-delete tombstones, and hands off and then drops keys it no
//     longer owns once all their owners confirmed holding them. Joins and
//     removals rebalance this way.
//
// # Concurrency
//
// A *Node is safe for concurrent use. Its goroutines (gossip, the heal loop,
// background commits and read repairs) are owned by the Node and stopped by
// Close, which first stops accepting work and then waits for them.
//
// Locks (a later issue) plug in as a per-key majority RPC beside Prepare and
// Commit; conditional writes are for now checked by the coordinator and by
// every replica at commit time.
package cluster
