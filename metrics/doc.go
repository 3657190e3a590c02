// Package metrics exports a running topology's counters in Prometheus's
// text format: the NACL rule hits, SG drops, conntrack usage and
// allowance, flow-log records and lost events that `vpcemu status` shows
// (both read lab.Status, so they never disagree), and, through interfaces
// their owners fill, the NAT gateways' CloudWatch metrics and the EC2 API's
// request counts. It reads; it never changes the topology. It is
// privileged only through the lab it reads.
package metrics
