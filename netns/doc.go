// Package netns builds and removes a topology's namespaces, veth pairs,
// bridges, addresses, routes and sysctls. It is privileged and the only
// netlink user; its API takes (namespace, ifname), never a bare ifindex.
package netns
