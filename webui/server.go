package webui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// DefaultAddr is where `vpcemu up` serves the web view; when another
// topology's daemon holds it, the next free port up to DefaultAddr+PortsTried-1.
const (
	DefaultPort = 4575
	DefaultAddr = "127.0.0.1:4575"
	PortsTried  = 16
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	// RunRoot is where the state of every running topology lives (the
	// page's selector lists them); default lab.DefaultRunRoot.
	RunRoot string
	// Interval is how often the page gets a batch of events (default
	// DefaultInterval); MaxKeys bounds a batch's rows (default DefaultMaxKeys).
	Interval time.Duration
	MaxKeys  int
	// StatusEvery is how often connected pages get the counters (default 1 s).
	StatusEvery time.Duration
	Log         *slog.Logger
}

// Server is the web view of one topology.
type Server struct {
	src   Source
	opts  Options
	hub   *Hub
	stopO func()
	srv   *http.Server
	files http.Handler

	topoMu  sync.Mutex
	topo    *vpc.Topology // the last one seen, and its version
	version int

	statusStop, statusDone chan struct{}
	closeOnce              sync.Once
	closeErr               error
}

// New starts watching src. Close stops it.
func New(src Source, opts Options) *Server {
	if opts.RunRoot == "" {
		opts.RunRoot = lab.DefaultRunRoot
	}
	if opts.StatusEvery <= 0 {
		opts.StatusEvery = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	sub, _ := fs.Sub(assets, "assets")
	s := &Server{src: src, opts: opts, hub: NewHub(opts.Interval, opts.MaxKeys), files: http.FileServerFS(sub),
		statusStop: make(chan struct{}), statusDone: make(chan struct{})}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.stopO = src.Observe(s.hub)
	go s.statusLoop()
	return s
}

// Hub is the server's event aggregator (tests feed it directly).
func (s *Server) Hub() *Hub { return s.hub }

// Serve answers requests on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close tells every page that the topology is going away, ends their
// streams and stops serving.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.stopO()
	close(s.statusStop)
	<-s.statusDone
	s.hub.Close("the daemon of " + s.topology().Name + " stopped")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// topology returns the live topology and its version, which changes with
// every apply.
func (s *Server) topology() *vpc.Topology {
	t, _ := s.topologyVersion()
	return t
}

func (s *Server) topologyVersion() (*vpc.Topology, int) {
	t := s.src.Topology()
	s.topoMu.Lock()
	defer s.topoMu.Unlock()
	if t != s.topo {
		s.topo = t
		s.version++
	}
	return t, s.version
}

// statusMsg is the counters the page gets every StatusEvery.
type statusMsg struct {
	Version int         `json:"version"` // of the topology: the page reloads it when it changes
	Status  *lab.Status `json:"status"`
}

func (s *Server) statusLoop() {
	defer close(s.statusDone)
	tick := time.NewTicker(s.opts.StatusEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.statusStop:
			return
		case <-tick.C:
			if s.hub.Clients() == 0 {
				continue
			}
			_, v := s.topologyVersion()
			s.hub.broadcast(encode("status", statusMsg{Version: v, Status: s.src.Status()}), false)
		}
	}
}

// Handler is the web view's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.index)
	mux.Handle("/assets/", http.StripPrefix("/assets/", s.files))
	mux.HandleFunc("/api/topology", s.apiTopology)
	mux.HandleFunc("/api/status", s.apiStatus)
	mux.HandleFunc("/api/explain", s.apiExplain)
	mux.HandleFunc("/api/topologies", s.apiTopologies)
	mux.HandleFunc("/events", s.events)
	return guard(mux)
}

// guard lets through only GETs from this page: any other method is 405;
// a request whose Host is not this machine's (DNS rebinding) or whose
// Origin is another site is 403.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		if r.Method != http.MethodGet {
			h.Set("Allow", http.MethodGet)
			http.Error(w, "the web view is read-only: only GET (change rules with `vpcemu apply`)", http.StatusMethodNotAllowed)
			return
		}
		if !allowedHost(r.Host) {
			http.Error(w, "unexpected Host "+strconv.Quote(r.Host), http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
			http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Error(w, "cross-site requests are refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowedHost accepts the names a browser on this machine uses for the
// server (localhost, any IP literal: the address it listens on), not a
// DNS name that could be rebound to it.
func allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return net.ParseIP(host) != nil
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// topologyMsg is the topology as the page loads it.
type topologyMsg struct {
	Version int   `json:"version"`
	View    *View `json:"view"`
}

func (s *Server) apiTopology(w http.ResponseWriter, _ *http.Request) {
	t, v := s.topologyVersion()
	writeJSON(w, topologyMsg{Version: v, View: NewView(t)})
}

func (s *Server) apiStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.src.Status())
}

// apiExplain answers ?protocol=&src=&dst=&src_port=&dst_port=&tcp_flags=&icmp_type=&icmp_code=.
func (s *Server) apiExplain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f Flow
	var bad []string
	num := func(name string, lo, hi int) int {
		v := q.Get(name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad = append(bad, fmt.Sprintf("%s=%q: want %d-%d", name, v, lo, hi))
		}
		return n
	}
	f.Protocol = num("protocol", 0, 255)
	f.SrcPort, f.DstPort = num("src_port", 0, 65535), num("dst_port", 0, 65535)
	f.TCPFlags = uint8(num("tcp_flags", 0, 255))
	f.ICMPType, f.ICMPCode = num("icmp_type", 0, 255), num("icmp_code", 0, 255)
	f.Src, f.Dst = q.Get("src"), q.Get("dst")
	if len(bad) > 0 {
		http.Error(w, strings.Join(bad, "; "), http.StatusBadRequest)
		return
	}
	res, err := Explain(s.topology(), f)
	if err != nil {
		http.Error(w, "explain: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, res)
}

// Peer is a running topology as the selector lists it.
type Peer struct {
	Name string `json:"name"`
	UI   string `json:"ui,omitempty"` // host:port of its web view; "" when it has none
	Self bool   `json:"self"`
}

// Peers lists the topologies that are up under runRoot.
func Peers(runRoot, self string) ([]Peer, error) {
	names, err := lab.ListUp(runRoot)
	if err != nil {
		return nil, err
	}
	out := []Peer{}
	for _, n := range names {
		p := Peer{Name: n, Self: n == self}
		if st, err := lab.ReadState(lab.PathsFor(runRoot, "", n)); err == nil {
			p.UI = st.UI
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *Server) apiTopologies(w http.ResponseWriter, _ *http.Request) {
	self := s.topology().Name
	peers, err := Peers(s.opts.RunRoot, self)
	if err != nil {
		peers = nil
	}
	found := false
	for _, p := range peers {
		found = found || p.Self
	}
	if !found {
		peers = append([]Peer{{Name: self, Self: true}}, peers...)
	}
	writeJSON(w, peers)
}

// events is the server-sent event stream: hello, then batch, status and
// records messages, and bye when the daemon stops.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c, hi, ok := s.hub.subscribe()
	if !ok {
		http.Error(w, "the daemon is stopping", http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(m message) error {
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	if err := write(hi); err != nil {
		return
	}
	_, v := s.topologyVersion()
	if err := write(encode("status", statusMsg{Version: v, Status: s.src.Status()})); err != nil {
		return
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-c.ch:
			if !ok {
				return
			}
			if err := write(m); err != nil {
				return
			}
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
