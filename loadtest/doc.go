// Package loadtest will hold the workload generator and the consistency
// observer (stale reads, sticky 404s, served-after-delete) and its reports.
// See DESIGN.md; built by the loadtest issue.
package loadtest
