// Package comet is the domain of Simple Comet: messages and their ids, the
// rules for channel names and client ids, the error kinds every layer
// shares, the Engine interface with its contract, the Hub that owns held
// polls, the Expiry that times them out, and the read-or-hold logic
// (Service, Hold) written once for every engine and every transport.
//
// It imports only the standard library. The HTTP layer (httpapi) and the
// engines (memengine, redisengine) depend on it; it depends on neither.
//
// Concurrency: Engine implementations, Hub and Service are safe for
// concurrent use. A Poll is owned by the Hub from Add until Remove (a poll
// with a Waker: until a Notify wakes it, or Remove). Once Remove has
// returned, the Hub is done with the poll and its owner may reuse it at
// once. A Hold is its caller's: Begin, Await, Finish and Cancel are called
// by one owner at a time, and a wake (from the Hub's lock or the expiry's
// timer) only flips its state and tells the owner's Waker, once. The Hub
// wakes a goroutine's poll with a non-blocking send on its capacity-1
// channel, so a publisher never blocks on a slow subscriber and wakes
// coalesce.
package comet
