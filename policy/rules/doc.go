// Package rules reads a site's TTL policy file and decides, for one fill,
// what the edge does with the origin's response: package policy's RFC 9111
// decision, adjusted by the file's defaults and rules.
//
// # The file
//
//	defaults:                 # what applies before any rule
//	  respect_origin: true    # the origin's Cache-Control, when it states freshness
//	  status_ttl: {"200": 2h} # TTL by status when the origin is silent (merged over the built-in table)
//	  negative_ttl: 3m        # 404 and 410 when the origin is silent
//	  max_negative_ttl: 1h    # ceiling no negative_ttl may exceed
//	rules:
//	  - name: images
//	    match: {path: "/img/**", extensions: [png, jpg], status: [200, 3xx]}
//	    edge_ttl: 24h
//	    browser_ttl: 1h
//	    tags: [images]
//	tests:
//	  - name: a png is kept a day
//	    request: {url: "https://cdn.example.com/img/a.png"}
//	    response: {status: 200}
//	    expect: {store: true, edge_ttl: 24h, rule: images}
//
// Without a file entry, an origin that states no freshness gets the edge
// TTL of its status from the built-in table (Cloudflare's documented
// defaults): 200, 206 and 301 120 minutes, 302 and 303 20 minutes, 404 and
// 410 3 minutes; other statuses are not stored.
//
// # Precedence
//
// Rules are read in order; every rule whose match holds applies, and a
// field a later rule sets overrides what an earlier one set. So put broad
// rules first and exceptions after them. Whatever the rules say, a
// response the origin marks no-store or private, or that RFC 9111 forbids
// storing (an Authorization request without public, Vary: *), is not
// stored: rules change how long, never whether a forbidden response may be.
//
// Decide is a pure function of the file, the request and the origin's
// response (which carries its request and receipt times): it reads no
// clock and does no I/O. The edge calls it on fills, never on hits.
package rules
