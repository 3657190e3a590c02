package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Request is one command sent to a topology's daemon over its socket.
type Request struct {
	Op   string `json:"op"`             // "status", "apply", "conntrack", "capture" or "stop"
	File string `json:"file,omitempty"` // apply: where the YAML came from
	YAML string `json:"yaml,omitempty"` // apply: the new topology text
	ENI  string `json:"eni,omitempty"`  // conntrack: ENI id or instance id ("" = all)
	// Capture: what to capture; the answer is a CaptureStarted line, then
	// frames (capture_stream.go) until the client closes the connection.
	Capture *CaptureRequest `json:"capture,omitempty"`
}

// Response is the daemon's answer.
type Response struct {
	OK        bool             `json:"ok"`
	Error     string           `json:"error,omitempty"`
	Status    *Status          `json:"status,omitempty"`
	Conntrack []ConntrackEntry `json:"conntrack,omitempty"`
}

// Call sends req to the daemon of the topology at paths and waits for the answer.
func Call(paths Paths, req Request) (*Response, error) {
	conn, err := net.DialTimeout("unix", paths.Socket(), 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to daemon: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("send %s: %w", req.Op, err)
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read answer to %s: %w", req.Op, err)
	}
	if !resp.OK {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// Serve answers control requests until ctx is done or a stop request comes.
// The caller then Closes the lab.
func (l *Lab) Serve(ctx context.Context) error {
	os.Remove(l.paths.Socket())
	ln, err := net.Listen("unix", l.paths.Socket())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", l.paths.Socket(), err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-stop:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		if l.handle(conn) {
			close(stop)
			return nil
		}
	}
}

// handle serves one connection; it returns true for a stop request. A
// capture goes on in its own goroutine, which owns the connection.
func (l *Lab) handle(conn net.Conn) (stopReq bool) {
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	var req Request
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		conn.Close()
		return false
	}
	if req.Op == "capture" {
		go l.serveCapture(conn, req.Capture)
		return false
	}
	defer conn.Close()
	resp := Response{OK: true}
	switch req.Op {
	case "status":
		resp.Status = l.Status()
	case "apply":
		if err := l.Apply(req.File, []byte(req.YAML)); err != nil {
			resp = Response{Error: err.Error()}
		}
	case "conntrack":
		entries, err := l.Conntrack(req.ENI)
		if err != nil {
			resp = Response{Error: err.Error()}
		}
		resp.Conntrack = entries
	case "stop":
		stopReq = true
	default:
		resp = Response{Error: fmt.Sprintf("unknown request %q", req.Op)}
	}
	_ = json.NewEncoder(conn).Encode(resp)
	return stopReq
}

// Apply makes the topology of a file's text the running one (Change): its
// name must be the running topology's; state.json keeps the text as
// written.
func (l *Lab) Apply(file string, yaml []byte) error {
	nt, err := vpc.Parse(file, yaml)
	if err != nil {
		return err
	}
	_, err = l.change(context.Background(), false, func(*vpc.Topology) (*vpc.Topology, error) { return nt, nil }, file, yaml)
	return err
}
