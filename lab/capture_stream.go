package lab

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/loader"
)

// CaptureRequest asks the daemon for the packets at a capture point.
type CaptureRequest struct {
	Target string `json:"target"`
	Drops  bool   `json:"drops,omitempty"` // dropped packets only
}

// CaptureStarted is the daemon's first answer to a capture: the point, or
// why there is none (then the connection ends and nothing was attached).
type CaptureStarted struct {
	OK      bool          `json:"ok"`
	Error   string        `json:"error,omitempty"`
	Point   *CapturePoint `json:"point,omitempty"`
	Snaplen int           `json:"snaplen,omitempty"`
}

// Frames after CaptureStarted: one byte of kind, then its fields, all
// little-endian. The capture ends when the client closes the connection.
const (
	frameKindPacket = 1 // time ns (i64), dir (u8), wire length (u32), verdict length (u16), data length (u32), verdict, data
	frameKindStats  = 2 // lost (u64): packets the datapath could not queue, so far
)

// captureWriter sends a capture's frames.
type captureWriter struct {
	w   *bufio.Writer
	hdr [19]byte
}

func (c *captureWriter) packet(p *capture.Packet) error {
	h := c.hdr[:]
	h[0] = frameKindPacket
	binary.LittleEndian.PutUint64(h[1:], uint64(p.Time.UnixNano()))
	h[9] = byte(p.Dir)
	binary.LittleEndian.PutUint32(h[10:], uint32(p.Length))
	binary.LittleEndian.PutUint16(h[14:], uint16(len(p.Verdict)))
	if _, err := c.w.Write(h[:16]); err != nil {
		return err
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(p.Data)))
	c.w.Write(n[:])
	c.w.WriteString(p.Verdict)
	_, err := c.w.Write(p.Data)
	return err
}

func (c *captureWriter) stats(lost uint64) error {
	var b [9]byte
	b[0] = frameKindStats
	binary.LittleEndian.PutUint64(b[1:], lost)
	if _, err := c.w.Write(b[:]); err != nil {
		return err
	}
	return c.w.Flush()
}

// CaptureCall asks the daemon of the topology at paths for a capture and
// hands each packet to fn until fn returns an error (io.EOF: enough, a
// clean stop) or stop is closed. It returns the capture point, and the
// packets the datapath lost for this capture.
func CaptureCall(paths Paths, req CaptureRequest, started func(*CaptureStarted) error, fn func(*capture.Packet) error, stop <-chan struct{}) (lost uint64, err error) {
	conn, err := net.DialTimeout("unix", paths.Socket(), 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("connect to daemon: %w", err)
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(Request{Op: "capture", Capture: &req}); err != nil {
		return 0, fmt.Errorf("send capture: %w", err)
	}
	r := bufio.NewReaderSize(conn, 1<<20)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return 0, fmt.Errorf("read answer to capture: %w", err)
	}
	var st CaptureStarted
	if err := json.Unmarshal(line, &st); err != nil {
		return 0, fmt.Errorf("read answer to capture: %w", err)
	}
	if !st.OK {
		return 0, errors.New(st.Error)
	}
	if err := started(&st); err != nil {
		return 0, err
	}
	// Stopping half-closes the connection: the daemon then sends the final
	// count of losses and closes its side; packets after that are dropped.
	var stopping atomic.Bool
	halfClose := func() {
		if stopping.CompareAndSwap(false, true) {
			if uc, ok := conn.(*net.UnixConn); ok {
				_ = uc.CloseWrite()
			} else {
				conn.Close()
			}
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			halfClose()
		case <-done:
		}
	}()
	var hdr [16]byte
	for {
		kind, err := r.ReadByte()
		if err != nil {
			if stopping.Load() && errors.Is(err, io.EOF) {
				return lost, nil
			}
			if errors.Is(err, io.EOF) {
				return lost, errors.New("the daemon ended the capture (topology going down?)")
			}
			return lost, fmt.Errorf("read capture: %w", err)
		}
		switch kind {
		case frameKindStats:
			if _, err := io.ReadFull(r, hdr[:8]); err != nil {
				return lost, fmt.Errorf("read capture: %w", err)
			}
			lost = binary.LittleEndian.Uint64(hdr[:8])
		case frameKindPacket:
			if _, err := io.ReadFull(r, hdr[1:16]); err != nil {
				return lost, fmt.Errorf("read capture: %w", err)
			}
			var n [4]byte
			if _, err := io.ReadFull(r, n[:]); err != nil {
				return lost, fmt.Errorf("read capture: %w", err)
			}
			p := &capture.Packet{
				Time:   time.Unix(0, int64(binary.LittleEndian.Uint64(hdr[1:]))),
				Dir:    capture.Direction(hdr[9]),
				Length: int(binary.LittleEndian.Uint32(hdr[10:])),
			}
			verdict := make([]byte, binary.LittleEndian.Uint16(hdr[14:]))
			p.Data = make([]byte, binary.LittleEndian.Uint32(n[:]))
			if _, err := io.ReadFull(r, verdict); err != nil {
				return lost, fmt.Errorf("read capture: %w", err)
			}
			if _, err := io.ReadFull(r, p.Data); err != nil {
				return lost, fmt.Errorf("read capture: %w", err)
			}
			p.Verdict = string(verdict)
			if stopping.Load() {
				continue
			}
			if err := fn(p); err != nil {
				if errors.Is(err, io.EOF) {
					halfClose()
					continue
				}
				return lost, err
			}
		default:
			return lost, fmt.Errorf("read capture: unknown frame kind %d", kind)
		}
	}
}

// serveCapture runs a capture for a client until it closes the connection
// or the topology goes down.
func (l *Lab) serveCapture(conn net.Conn, req *CaptureRequest) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	enc := json.NewEncoder(conn)
	if req == nil {
		_ = enc.Encode(CaptureStarted{Error: "capture: no target"})
		return
	}
	c, err := l.StartCapture(req.Target, req.Drops)
	if err != nil {
		_ = enc.Encode(CaptureStarted{Error: err.Error()})
		return
	}
	defer c.Close()
	if err := enc.Encode(CaptureStarted{OK: true, Point: c.Point, Snaplen: loader.CaptureSnaplen}); err != nil {
		return
	}
	// The client never writes again: a read that returns means it is gone.
	gone := make(chan struct{})
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		close(gone)
	}()
	w := &captureWriter{w: bufio.NewWriterSize(conn, 256<<10)}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastLost uint64
	for {
		select {
		case <-gone:
			// The client is done: it reads the final count of losses.
			_ = w.stats(c.Lost())
			return
		case <-c.stopped:
			_ = w.stats(c.Lost())
			return
		case <-tick.C:
			if n := c.Lost(); n != lastLost {
				lastLost = n
				if w.stats(n) != nil {
					return
				}
			} else if w.w.Flush() != nil {
				return
			}
		case p := <-c.Packets:
			if w.packet(p) != nil {
				return
			}
			// Write out a burst once the queue is empty.
			if len(c.Packets) == 0 && w.w.Flush() != nil {
				return
			}
		}
	}
}
