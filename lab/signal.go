package lab

import "syscall"

func signalTerm(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
func signalKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
