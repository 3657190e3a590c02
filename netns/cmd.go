package netns

import "os/exec"

// Command returns a command that runs args inside namespace ns with its own
// UTS namespace whose hostname is host, so that `hostname` inside an
// instance prints the instance's id, as on EC2.
func Command(ns, host string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns, "unshare", "--uts", "--",
		"sh", "-c", `hostname "$0" && exec "$@"`, host}, args...)
	return exec.Command("ip", full...)
}
