package perf

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AgentEnv, set to "1" in a process's environment, makes AgentMain the
// process's job: the harness re-executes its own binary inside a namespace
// (`ip netns exec NS taskset -c CPU SELF agent KIND ...`) to run a load
// generator or a receiver there, pinned to one CPU.
const AgentEnv = "VPCEMU_BENCH_AGENT"

// AgentArg is the first argument of an agent command line.
const AgentArg = "agent"

// The agents talk to the harness on stdout: receivers print agentReady once
// they listen; every agent prints one JSON result line last. Receivers stop
// when their stdin closes or after -max seconds, whichever comes first.
const agentReady = "ready"

// AgentResult is what an agent prints as its last line.
type AgentResult struct {
	Sent  uint64  `json:"sent,omitempty"`  // blast: datagrams handed to sendmmsg
	Recv  uint64  `json:"recv,omitempty"`  // sink: datagrams read by the socket
	Conns uint64  `json:"conns,omitempty"` // conn client: completed connections; conn server: accepted
	Errs  uint64  `json:"errs,omitempty"`
	Secs  float64 `json:"secs"` // time the load ran
}

// AgentMain runs the agent named by args[0] ("blast", "sink", "connsrv",
// "conncli") with the rest of args as its flags, and returns an exit code.
func AgentMain(args []string) int {
	if len(args) > 0 && args[0] == AgentArg {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "agent: want blast|sink|connsrv|conncli")
		return 2
	}
	fs := flag.NewFlagSet("agent "+args[0], flag.ContinueOnError)
	dst := fs.String("dst", "", "destination IPv4 address")
	port := fs.Int("port", 9000, "port")
	length := fs.Int("len", 64, "UDP payload bytes")
	batch := fs.Int("batch", 64, "datagrams per sendmmsg")
	dur := fs.Duration("dur", 3*time.Second, "how long to send or connect")
	maxDur := fs.Duration("max", 60*time.Second, "receivers: exit after this long at the latest")
	conc := fs.Int("conc", 16, "connections in flight")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var res AgentResult
	var err error
	switch args[0] {
	case "blast":
		res, err = blast(*dst, *port, *length, *batch, min(*dur, time.Minute))
	case "sink":
		res, err = sink(*port, min(*maxDur, 10*time.Minute))
	case "connsrv":
		res, err = connServer(*port, min(*maxDur, 10*time.Minute))
	case "conncli":
		res, err = connClient(*dst, *port, *conc, min(*dur, time.Minute))
	default:
		err = fmt.Errorf("unknown agent %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "agent %s: %v\n", args[0], err)
		return 1
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return 0
}

func sockaddr(dst string, port int) (*unix.SockaddrInet4, error) {
	a, err := netip.ParseAddr(dst)
	if err != nil || !a.Is4() {
		return nil, fmt.Errorf("bad IPv4 address %q", dst)
	}
	return &unix.SockaddrInet4{Port: port, Addr: a.As4()}, nil
}

var (
	helloMsg = []byte("VPCEMUHELLO")
	helloAck = []byte("VPCEMUOK")
)

// blast sends length-byte UDP datagrams with sendmmsg, batch per call, for
// dur. A HELLO answered by the sink comes first, so that a stateful filter
// has seen a reply and treats the flow as established (as iperf3's does).
func blast(dst string, port, length, batch int, dur time.Duration) (AgentResult, error) {
	sa, err := sockaddr(dst, port)
	if err != nil {
		return AgentResult{}, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return AgentResult{}, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, sa); err != nil {
		return AgentResult{}, fmt.Errorf("connect: %w", err)
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 300000})
	ok := false
	buf := make([]byte, 64)
	for i := 0; i < 10 && !ok; i++ {
		if _, err := unix.Write(fd, helloMsg); err != nil {
			continue
		}
		n, err := unix.Read(fd, buf)
		ok = err == nil && n >= len(helloAck) && string(buf[:len(helloAck)]) == string(helloAck)
	}
	if !ok {
		return AgentResult{}, errors.New("no HELLO answer from the sink")
	}
	batch = max(1, min(batch, 1024))
	length = max(1, min(length, 9000))
	payload := make([]byte, length)
	for i := range payload {
		payload[i] = 'x'
	}
	iov := make([]unix.Iovec, batch)
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		iov[i].Base = &payload[0]
		iov[i].SetLen(length)
		msgs[i].Hdr.Iov = &iov[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	var res AgentResult
	start := time.Now()
	var el time.Duration
	for el = 0; el < dur; el = time.Since(start) {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), 0, 0, 0)
		if errno != 0 {
			res.Errs++
			continue
		}
		res.Sent += uint64(n)
	}
	res.Secs = el.Seconds()
	return res, nil
}

// untilStdinClosed returns a channel closed when stdin reaches EOF (the
// harness closed its end) or after max.
func untilStdinClosed(max time.Duration) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done) }) }
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		stop()
	}()
	time.AfterFunc(max, stop)
	return done
}

// sink counts datagrams on port with recvmmsg, busy-polling, and answers
// HELLOs.
func sink(port int, max time.Duration) (AgentResult, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return AgentResult{}, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return AgentResult{}, fmt.Errorf("bind :%d: %w", port, err)
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	var recv atomic.Uint64
	go func() {
		const n = 256
		bufs := make([][2048]byte, n)
		iov := make([]unix.Iovec, n)
		names := make([]unix.RawSockaddrInet4, n)
		msgs := make([]unix.Mmsghdr, n)
		for i := range msgs {
			iov[i].Base = &bufs[i][0]
			iov[i].SetLen(len(bufs[i]))
			msgs[i].Hdr.Iov = &iov[i]
			msgs[i].Hdr.SetIovlen(1)
			msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
		}
		for {
			for i := range msgs {
				msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
			}
			// Busy-poll (the sink has a CPU of its own): a sleeping reader
			// would make the sender's CPU wake it with an IPI per batch,
			// a cost that is the VM's, not the datapath's (a fifth of the
			// sender's time in profiles).
			r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), n, unix.MSG_DONTWAIT, 0, 0)
			if errno != 0 {
				continue
			}
			cnt := uint64(0)
			for i := 0; i < int(r); i++ {
				b := bufs[i][:msgs[i].Len]
				if string(b) == string(helloMsg) {
					from := &unix.SockaddrInet4{Port: int(names[i].Port>>8 | (names[i].Port&0xff)<<8), Addr: names[i].Addr}
					_ = unix.Sendto(fd, helloAck, 0, from)
					continue
				}
				cnt++
			}
			recv.Add(cnt)
		}
	}()
	fmt.Println(agentReady)
	start := time.Now()
	<-untilStdinClosed(max)
	// The receiving goroutine is abandoned: the process exits right after.
	return AgentResult{Recv: recv.Load(), Secs: time.Since(start).Seconds()}, nil
}

// connServer accepts connections on port and closes each at once: the server
// does the active close, so the client's ports never sit in TIME_WAIT. It
// busy-polls a non-blocking socket on its own CPU: no wake-up per
// connection, whose IPI would cost more than the datapath being measured.
func connServer(port int, max time.Duration) (AgentResult, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return AgentResult{}, fmt.Errorf("socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return AgentResult{}, fmt.Errorf("bind :%d: %w", port, err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return AgentResult{}, fmt.Errorf("listen: %w", err)
	}
	var accepted atomic.Uint64
	go func() {
		for {
			c, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			if err != nil {
				continue
			}
			unix.Close(c)
			accepted.Add(1)
		}
	}()
	fmt.Println(agentReady)
	start := time.Now()
	<-untilStdinClosed(max)
	return AgentResult{Conns: accepted.Load(), Secs: time.Since(start).Seconds()}, nil
}

// connClient keeps conc connections in flight for dur, busy-polling
// non-blocking sockets from one thread: each slot connects, reads until the
// server's EOF, closes and starts over. A connection that has not reached
// EOF within a second counts as an error.
func connClient(dst string, port, conc int, dur time.Duration) (AgentResult, error) {
	sa, err := sockaddr(dst, port)
	if err != nil {
		return AgentResult{}, err
	}
	conc = max(1, min(conc, 256))
	type slot struct {
		fd       int
		deadline time.Time
	}
	var res AgentResult
	open := func(now time.Time) slot {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			res.Errs++
			return slot{fd: -1, deadline: now.Add(time.Millisecond)}
		}
		if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			res.Errs++
			unix.Close(fd)
			return slot{fd: -1, deadline: now.Add(time.Millisecond)}
		}
		return slot{fd: fd, deadline: now.Add(time.Second)}
	}
	start := time.Now()
	slots := make([]slot, conc)
	for i := range slots {
		slots[i] = open(start)
	}
	buf := make([]byte, 64)
	now := start
	for i := 0; now.Sub(start) < dur; i = (i + 1) % conc {
		if i == 0 {
			now = time.Now()
		}
		s := &slots[i]
		if s.fd < 0 { // socket or connect failed: retry after a pause
			if now.After(s.deadline) {
				*s = open(now)
			}
			continue
		}
		n, err := unix.Read(s.fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			if now.Before(s.deadline) {
				continue
			}
			res.Errs++
		case err != nil:
			res.Errs++
		case n > 0:
			continue
		default: // EOF: the server accepted and closed
			res.Conns++
		}
		unix.Close(s.fd)
		*s = open(now)
	}
	for _, s := range slots {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
	}
	res.Secs = time.Since(start).Seconds()
	return res, nil
}
