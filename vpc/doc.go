// Package vpc is the topology model: YAML parsing, validation with AWS's
// quotas and error codes, defaults, and the Plan (namespace and link names,
// addresses, MACs). It is pure: no kernel, no root.
//
// # Topology file
//
// The schema is that of lab.yaml (LabYAML, the built-in lab). Beyond it:
// vpc.ipv6_cidr and vpc.mtu (veth MTU, default 9001); subnet ipv6_cidr; instance ipv6, eni (an explicit ENI
// id; else ENIID) and conntrack {tcp_established_timeout, udp_timeout,
// udp_stream_timeout (seconds), max_entries}; internet host ipv6;
// prefix_lists [{id, max_entries, cidrs}]; limits {security_groups_per_eni,
// rules_per_security_group, nacl_rules_per_direction}; flow-log
// file_format, hive_compatible_partitions and per_hour_partition.
// Top-level keys starting with "x-" are ignored, so they can hold YAML
// anchors for reuse (aliases and "<<" merge keys work anywhere).
//
// Defaults are AWS's: the VPC's default NACL (DefaultNACLID) and default SG
// (DefaultSGID) exist even when the file does not name them (naming them
// edits their rules; a direction left out keeps AWS's rules); a subnet
// without network_acl uses the default NACL; an instance without
// security_groups gets the default SG; an SG without an egress key gets one
// all-traffic rule to 0.0.0.0/0 ("egress: []" means none). Left-out account,
// region and vpc.id default to DefaultAccount, DefaultRegion and "vpc-NAME".
//
// Parse reports every mistake at once as an ErrorList; each Error names the
// file, line, column and field, says what would be valid and carries AWS's
// error code where AWS has one.
//
// # Validating a topology built in code
//
// Parse is a decoder and a checker. The decoder reads the YAML: syntax,
// keys, types (a number, an address, a CIDR), and remembers where each
// field is. The checker holds every rule on values and between objects; it
// runs on the model and names fields by path, which Parse turns into
// file:line:column. Validate runs the same checker on a topology built or
// edited in code (the EC2 API's edits), with the same codes and messages,
// and completes it as Parse would: Validate(t) accepts exactly what
// Parse(t.YAML()) accepts, and makes of it the same topology. Clone is the
// deep copy an edit is made on.
package vpc
