// Package policy will hold TTL policy files (YAML), their validation, and the
// pure decision "store? for how long?" built on pquerna/cachecontrol. It
// knows nothing of servers or storage. See DESIGN.md; built by the policy issue.
package policy
