// Package lab brings a whole topology up and down: namespaces, datapath,
// services, state under /run/vpcemu, and the control socket that `apply`,
// `status` and `down` talk to. It is privileged.
package lab
