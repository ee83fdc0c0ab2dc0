// Package nginx tests deploy/nginx.conf: it starts a real nginx with that
// very file (the deployment-specific lines rewritten for a temporary
// directory and a random port) in front of real simple_comet nodes, and
// runs the long-polling flow through it. A heavy package: make runs it on
// its own (-p 1).
package nginx
