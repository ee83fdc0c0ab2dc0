// Package h1 is the HTTP/1.1 wire of Simple Comet's lean transport: how a
// request's bytes are read and how a response's bytes look, and nothing
// of what to answer (that is httpapi's).
//
//   - Request.Parse reads a request that one read of the parking Lot
//     holds whole, exactly as net/http would (a fuzz test compares them),
//     and says no to anything else, which then goes to net/http.
//   - Native is the parking.Server the Lot calls: it parses, lets a
//     FastServer serve the requests it takes from the parsed request
//     alone, and serves the others through an http.Handler with a
//     ResponseWriter that collects the response.
//   - AppendResponse and AppendHead write every response head of the lean
//     transport (header fields in sorted order, as net/http writes them).
//   - TimeoutListener makes net/http answer 408 to a request that does
//     not arrive in time, which net/http does not do by itself.
//
// Concurrency: Native is safe for concurrent use (its buffers are pooled);
// a Request is one caller's; a TimeoutConn is used as net/http uses a
// connection (one reader at a time, writes from the handler).
package h1
