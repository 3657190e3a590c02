package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
)

// daemonPort describes one of the daemon's local HTTP endpoints (the web
// view, /metrics): its flag, its default port and how many ports after it
// are tried, and what a listener beyond loopback exposes.
type daemonPort struct {
	flag    string // "--ui"
	port    int    // default port on 127.0.0.1
	tried   int    // ports port..port+tried-1 before any free one
	exposes string // completes "whoever reaches it ..."
}

func (d daemonPort) defaultAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port))
}

// listen opens the endpoint's listener: spec as given (changed: the user
// gave it), or the default port, else the next free one (another
// topology's daemon may hold it), else any free loopback port: a topology
// never fails for want of its default port. nil for "off".
func (d daemonPort) listen(spec string, changed bool, errOut io.Writer) (net.Listener, error) {
	if spec == "off" {
		return nil, nil
	}
	if !changed {
		var last error
		for i := range d.tried {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port+i)))
			if err == nil {
				return ln, nil
			}
			last = err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("%s: no free port on 127.0.0.1 (%d-%d: %v; any: %w); give one with %s 127.0.0.1:PORT, or %s off",
				d.flag, d.port, d.port+d.tried-1, last, err, d.flag, d.flag)
		}
		return ln, nil
	}
	if err := d.warnIfExposed(spec, errOut); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", spec)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", d.flag, spec, err)
	}
	return ln, nil
}

// warnIfExposed checks an address given with the endpoint's flag and warns
// on errOut when it reaches beyond loopback. `up -d` calls it before
// detaching too, since the daemon's own warnings go to its log.
func (d daemonPort) warnIfExposed(spec string, errOut io.Writer) error {
	if spec == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(spec)
	if err != nil {
		return fmt.Errorf("%s %q: want HOST:PORT (e.g. %s) or off", d.flag, spec, d.defaultAddr())
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(errOut, "vpcemu: warning: %s listens on %s, beyond this machine: whoever reaches it %s\n", d.flag, spec, d.exposes)
	}
	return nil
}
