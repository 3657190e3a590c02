// Package services runs the servers inside instances and internet hosts:
// http, https, TCP and UDP echo (in-process, on sockets opened inside the
// namespace) and OpenSSH's sshd. It is privileged.
package services
