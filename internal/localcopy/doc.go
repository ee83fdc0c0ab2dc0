// Package localcopy is one node's copy of the part of a shared engine it
// reads: the retained messages and options of the channels its readers and
// held polls use, the clients they read as, and the newest id. It lets a
// node answer a re-poll or a wake-up from memory instead of asking the
// shared store (Redis) every time, and it is exact: a read it answers
// returns what the store would have returned at one earlier point of the
// store's history, never a mix of two points, never a message twice and
// never a gap.
//
// What keeps it exact is one ordered stream of changes from the store:
// every change that can alter what a read sees — a message stored (with
// its channel's trimming), a channel deleted or expired, a client deleted —
// carries a sequence number that the store assigns in the same atomic step
// as the change. Changes to names the copy does not hold (a channel
// registered, a client registered) need no event: a name the copy does not
// hold is always read from the store.
//
//   - Apply takes the stream in order. A sequence number that is not the
//     next one is a gap (a change was lost): the copy forgets everything
//     and must be based again (Rebase) from the store's current sequence
//     number and newest id. A number at or below the base is a change the
//     base already includes (it was in flight); one above the base but not
//     above what was applied means the store's history changed (a failover
//     to a replica that had lost writes): a gap too.
//   - A read the copy cannot answer (a name it does not hold, a name whose
//     expiry it cannot rule out, a since above its newest id, a write of
//     this node not applied yet) is a miss: the engine reads the store and
//     offers what it read (a Snapshot, taken at a sequence number) to
//     Install. Install takes it only when no change after the snapshot
//     and already applied touches the snapshot's names (it keeps the last
//     changes in a ring to tell); a snapshot taken ahead of the stream is
//     taken, and serves only once the stream has caught up with it.
//   - Read-your-writes: Acked records the sequence number of each write
//     this node acknowledged; the copy answers no read until it has
//     applied them all.
//   - Expiry stays the store's: the copy answers for a channel or client
//     only while the store cannot have expired it, judged from the last
//     time the store was told it was read (Confirm, after the engine's
//     batched touch). Past that it asks the store.
//
// Nothing here knows Redis: an engine fed by another ordered log (NATS
// JetStream) uses it the same way.
//
// Concurrency: a Copy is safe for concurrent use. Reads share a read lock;
// Apply, Rebase, Install and Invalidate take the write lock. The stream
// must be applied from one goroutine, in order.
package localcopy
