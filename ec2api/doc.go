// Package ec2api serves the EC2 Query API (spec ec2-api.md, API-1..37) over
// a vpcemu topology: wire decoding by wire name, XML responses and AWS-shaped
// errors, action dispatch, Describe filters and paging, tags, DryRun,
// ClientToken idempotency, SigV4, and the actions' semantics as edits of a
// vpc.Topology that a Backend validates with the topology file's own
// validation and makes live. It is pure: no kernel, no root.
package ec2api

//go:generate go run ./internal/modelgen -model $BOTOCORE_EC2_MODEL
