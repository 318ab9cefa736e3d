// Package edge will hold the fasthttp server: sites, cache keys, serving,
// conditional and range requests, request coalescing, applying purges,
// metrics and access logs. See DESIGN.md; built by the edge issue.
package edge
