// Package loadtest is reserved for the load generator. It holds nothing
// yet: no code, only this comment.
package loadtest
