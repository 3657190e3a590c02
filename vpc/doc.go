// Package vpc is the topology model: YAML parsing, validation with AWS's
// quotas and error codes, defaults, and the Plan (namespace and link names,
// addresses, MACs). It is pure: no kernel, no root.
package vpc
