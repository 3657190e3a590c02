package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/ec2api"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/metrics"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// DefaultAPIPort is where `vpcemu up` serves the EC2 API (API-1: the port
// LocalStack and its kin use, so existing client set-ups work).
const DefaultAPIPort = 4566

// apiPort is the EC2 API's endpoint.
var apiPort = daemonPort{flag: "--api", port: DefaultAPIPort, tried: 16,
	exposes: "can read and change the topology (its security groups, network ACLs and flow logs); use --api-credentials"}

const apiFlagHelp = "address of the EC2 API (HOST:PORT), or off; when another daemon holds the default port %d, the next free one up to %d is used (then any free one; up and status say which); any address but loopback makes it reachable from other machines"

// apiCredentialsEnv passes --api-credentials to the detached daemon, off
// its command line (which every user of the machine can read).
const apiCredentialsEnv = "VPCEMU_API_CREDENTIALS"

// parseAPICredentials reads KEY:SECRET ("" = any credentials accepted).
func parseAPICredentials(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	key, secret, ok := strings.Cut(s, ":")
	if !ok || key == "" || secret == "" {
		return nil, fmt.Errorf("--api-credentials: want ACCESS_KEY_ID:SECRET_ACCESS_KEY (both non-empty)")
	}
	return map[string]string{key: secret}, nil
}

// labBackend is the EC2 API's backend of the running topology's region:
// every change goes through the daemon's control plane (lab.Change), so it
// is validated like a topology file, made live in the datapath and
// recorded before the response is written (API-21). The API server groups
// the changes that arrive while one is made live into the next Commit.
type labBackend struct{ l *lab.Lab }

func (b labBackend) Topology() *vpc.Topology { return b.l.Topology() }

func (b labBackend) Plan(ctx context.Context, base *vpc.Topology, edit func(*vpc.Topology) error) (*vpc.Topology, error) {
	next := base.Clone()
	if err := edit(next); err != nil {
		return nil, err
	}
	next, err := ec2api.Validate(next)
	if err != nil {
		return nil, err
	}
	// Refused when the request is accepted, not when its batch is made
	// live: it alone gets the error.
	if err := b.l.Check(base, next); err != nil {
		return nil, notLive(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return next, nil
}

func (b labBackend) Commit(ctx context.Context, base, next *vpc.Topology) error {
	_, err := b.l.Change(ctx, false, func(cur *vpc.Topology) (*vpc.Topology, error) {
		if cur != base {
			return nil, ec2api.ErrStale
		}
		return next, nil
	})
	if errors.Is(err, rules.ErrTooManySGEntries) {
		// The datapath's capacity, not the request's syntax: a client
		// error too, with the limit's code.
		return ec2api.Errorf("RulesPerSecurityGroupLimitExceeded", "the datapath cannot hold these security group rules: %v", err)
	}
	return notLive(err)
}

// notLive answers a change the running topology cannot make: the request
// was valid; vpcemu cannot carry it out on a running topology (yet): a
// client error, which SDKs do not retry.
func notLive(err error) error {
	if errors.Is(err, lab.ErrNotLive) {
		return ec2api.Errorf("UnsupportedOperation", "vpcemu cannot make this change on the running topology: %v", err)
	}
	return err
}

// apiCounter counts the API's requests by action and error code for
// /metrics (metrics.APISource).
type apiCounter struct {
	mu sync.Mutex
	n  map[[2]string]uint64
}

func (c *apiCounter) observe(action, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[[2]string]uint64{}
	}
	c.n[[2]string{action, code}]++
}

// APIRequestCounts returns the counts, by action and code.
func (c *apiCounter) APIRequestCounts() []metrics.APIRequestCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]metrics.APIRequestCount, 0, len(c.n))
	for k, v := range c.n {
		out = append(out, metrics.APIRequestCount{Action: k[0], ErrorCode: k[1], Requests: v})
	}
	slices.SortFunc(out, func(a, b metrics.APIRequestCount) int {
		return strings.Compare(a.Action+"\x00"+a.ErrorCode, b.Action+"\x00"+b.ErrorCode)
	})
	return out
}

// serveAPI serves the EC2 API of l on ln until the returned function. The
// running topology is the universe of its region; requests signed for any
// other region get an empty one of their own (API-13), as ec2api does.
func serveAPI(l *lab.Lab, ln net.Listener, creds map[string]string, count *apiCounter, log *slog.Logger) (stop func()) {
	region := l.Topology().Region
	api := ec2api.NewServer(ec2api.Config{
		Backend: func(r string) (ec2api.Backend, error) {
			if r == region {
				return labBackend{l}, nil
			}
			return nil, nil
		},
		Credentials: creds,
		Observe:     count.observe,
	})
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("EC2 API", "err", err)
		}
	}()
	return func() { _ = srv.Close() }
}

// apiURL is the endpoint a client on this machine uses (--endpoint-url).
func apiURL(addr string) string {
	return strings.TrimSuffix(uiURL(addr), "/")
}
