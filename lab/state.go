package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Default roots of runtime state (sockets, keys) and kept data (flow logs).
const (
	DefaultRunRoot  = "/run/vpcemu"
	DefaultDataRoot = "/var/lib/vpcemu"
)

// ErrNotUp is returned when a named topology is not running.
var ErrNotUp = errors.New("topology is not up")

// Paths locates one topology's state on disk.
type Paths struct {
	Run  string // /run/vpcemu/NAME: state.json, ctl.sock, ssh/, tls/
	Data string // /var/lib/vpcemu/NAME: flowlogs/ (kept after down)
}

// PathsFor returns the state paths of topology name under the given roots.
func PathsFor(runRoot, dataRoot, name string) Paths {
	return Paths{Run: filepath.Join(runRoot, name), Data: filepath.Join(dataRoot, name)}
}

// StateFile is state.json, what a running topology tells other commands.
func (p Paths) StateFile() string { return filepath.Join(p.Run, "state.json") }

// Socket is the daemon's control socket.
func (p Paths) Socket() string { return filepath.Join(p.Run, "ctl.sock") }

// FlowLogs is the root of the S3-layout flow-log files.
func (p Paths) FlowLogs() string { return filepath.Join(p.Data, "flowlogs") }

// State is what `up` records about a running topology.
type State struct {
	Name    string    `json:"name"`
	File    string    `json:"file"` // where the topology came from ("" = built-in lab)
	YAML    string    `json:"yaml"` // the topology text as applied last
	PID     int       `json:"pid"`  // the daemon (foreground `up` or detached child)
	Started time.Time `json:"started"`
	XDPMode string    `json:"xdp_mode"`
	UI      string    `json:"ui,omitempty"`      // host:port of the daemon's web view; "" when off
	Metrics string    `json:"metrics,omitempty"` // host:port of the daemon's /metrics; "" when off
	API     string    `json:"api,omitempty"`     // host:port of the daemon's EC2 API; "" when off
}

// Topology re-parses the recorded topology text.
func (s *State) Topology() (*vpc.Topology, error) {
	name := s.File
	if name == "" {
		name = "lab.yaml (built-in)"
	}
	return vpc.Parse(name, []byte(s.YAML))
}

// ReadState loads the state of topology name; ErrNotUp when there is none.
func ReadState(paths Paths) (*State, error) {
	b, err := os.ReadFile(paths.StateFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotUp
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", paths.StateFile(), err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", paths.StateFile(), err)
	}
	return &s, nil
}

func writeState(paths Paths, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := paths.StateFile() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp, paths.StateFile())
}

// alive tells whether pid is a live process. A zombie is not: it has
// released everything, only its parent (init, for a detached daemon) has
// yet to reap it, which some inits do a second or more later.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// ListUp returns the names of topologies with a live daemon, sorted.
func ListUp(runRoot string) ([]string, error) {
	ents, err := os.ReadDir(runRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		s, err := ReadState(PathsFor(runRoot, "", e.Name()))
		if errors.Is(err, os.ErrPermission) {
			// Not "none is up": the caller cannot see, and should be told.
			return nil, fmt.Errorf("list running topologies: %w", err)
		}
		if err == nil && alive(s.PID) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Resolve picks the topology a command acts on: the given name, or the only
// one that is up.
func Resolve(runRoot, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	up, err := ListUp(runRoot)
	if err != nil {
		return "", err
	}
	switch len(up) {
	case 0:
		return "", fmt.Errorf("no topology is up (start one with `vpcemu up`)")
	case 1:
		return up[0], nil
	}
	return "", fmt.Errorf("%d topologies are up (%s): choose one with -t NAME", len(up), strings.Join(up, ", "))
}
