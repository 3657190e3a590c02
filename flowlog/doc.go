// Package flowlog turns datapath flow counters into VPC Flow Log records in
// AWS's formats and S3 layout. It is pure: no kernel, no root.
package flowlog
