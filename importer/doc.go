// Package importer turns a real configuration into a vpcemu topology:
// the JSON of `aws ec2 describe-*` calls (single files or a Batfish-style
// aws_configs/ snapshot), Terraform's `terraform show -json` of a plan or a
// state, and CloudFormation templates in YAML or JSON (spec ec2-api.md §4,
// IMP-1..11).
//
// Every format fills the same builder; the builder writes the topology
// file, has vpc.Parse check it, and maps any mistake Parse finds back to
// where the object came from (the input file and JSON path, the Terraform
// address or the CloudFormation logical id). The result is a topology file
// a person can read: a comment above each object names its source, AWS ids
// and names are kept as they are, and whatever vpcemu does not model is
// listed at the end (Warning, NotModeled).
//
// It is pure: no kernel, no root. It reads files only in ReadPaths.
package importer
