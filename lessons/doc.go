// Package lessons runs the classic VPC security lessons (stateful security
// groups, NACL rule order, ephemeral ports, flow-log forensics, ...) as
// real traffic through a topology brought up for the lesson, narrates every
// step in English or Korean and checks each outcome against AWS's
// documented behaviour. It is privileged: running a lesson needs root
// (namespaces, BPF); listing and rendering do not.
package lessons
