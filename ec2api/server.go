package ec2api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// DefaultAddr is where vpcemu serves the API (API-1, LocalStack's port).
const DefaultAddr = "127.0.0.1:4566"

// DefaultAccount is the owner id of regions the server creates itself
// (API-13).
const DefaultAccount = "000000000000"

// DefaultMaxBody bounds a request body [INTERP]: far above any EC2 request
// vpcemu serves, far below what could hurt the daemon.
const DefaultMaxBody = 1 << 20

// Config configures a Server.
type Config struct {
	// Backend returns the backend of a region. A nil Backend, or one that
	// returns (nil, nil), gives the region an empty in-memory universe
	// (API-13: one universe per region); an error is answered to the
	// client.
	Backend func(region string) (Backend, error)
	// Credentials, when not empty, switches on strict mode: requests must
	// be SigV4-signed with one of these access keys (key -> secret) and a
	// valid signature, else AuthFailure (API-13). Empty: any credentials.
	Credentials map[string]string
	// MaxBodyBytes bounds the request body (DefaultMaxBody when 0).
	MaxBodyBytes int64
	// Now is the clock (time.Now when nil): timestamps and SigV4 skew.
	Now func() time.Time
	// Observe, when set, is told of every answered request: its action
	// (one the server implements, else "Unknown", so that clients cannot
	// grow the set) and the error code it got ("" for success).
	Observe func(action, code string)
}

// Server is the EC2 Query API as an http.Handler.
type Server struct {
	cfg     Config
	mu      sync.Mutex
	regions map[string]*region
}

// region is one region's universe: its backend plus what the API keeps
// beside the topology (annotations, idempotency tokens, Reachability
// Analyzer paths and analyses). mu serialises mutating requests and guards
// those and the group commit's state; reads hold it shared.
//
// Group commit: a mutating request plans its change on pending (the
// committed topology plus the changes accepted before it, so requests stay
// sequentially consistent), queues it and, without mu, waits for the
// committer, which makes everything queued so far live in one
// Backend.Commit (one datapath swap, one state record) and then lets the
// requests answer: none is answered before its change is live (API-21).
// When a batch's commit fails, every request of it is answered again on
// its own, in order, on the committed topology (entry.redo): each gets its
// own error, and a failed one changes nothing.
type region struct {
	name       string
	backend    Backend
	mu         sync.RWMutex
	ann        awsshape.Annotations
	tokens     map[string]tokenEntry
	paths      []*insightsPath
	results    []*insightsAnalysis
	tombstones []tombstone // terminated instances, shown for a while

	pending    *vpc.Topology // desired: nil when nothing waits (the backend's is)
	base       *vpc.Topology // what the queued changes were planned from
	queue      []*entry      // accepted, not yet taken by the committer, in order
	committing bool          // the committer runs (pending != nil implies it)
}

// entry is a mutating request waiting for the changes it made or saw to
// be live.
type entry struct {
	c      *call
	edited bool          // it changed the topology, to result
	result *vpc.Topology // its change, planned on those before it
	done   chan struct{} // closed by the committer once settled
	// redone: the batch's commit failed and the committer answered the
	// request again on its own with body and err. An entry that did not
	// edit keeps its first answer in them.
	redone bool
	body   any
	err    error
}

// tokenEntry is a ClientToken's request: done is open while it is in
// flight, nil once it succeeded with body.
type tokenEntry struct {
	params string
	body   any
	done   chan struct{}
}

// NewServer returns a server with cfg.
func NewServer(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, regions: map[string]*region{}}
}

func (s *Server) region(name string) (*region, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.regions[name]; r != nil {
		return r, nil
	}
	var b Backend
	if s.cfg.Backend != nil {
		var err error
		if b, err = s.cfg.Backend(name); err != nil {
			return nil, FromValidation(err)
		}
	}
	if b == nil {
		b = NewMemory(&vpc.Topology{Name: "api", Account: DefaultAccount, Region: name, Limits: vpc.DefaultLimits}, nil)
	}
	r := &region{name: name, backend: b, tokens: map[string]tokenEntry{}, ann: awsshape.Annotations{
		VPCs: map[string]awsshape.VPCInfo{}, Instances: map[string]awsshape.InstanceInfo{},
		FlowLogs: map[string]awsshape.FlowLogInfo{}, NATGateways: map[string]awsshape.NATInfo{}, Tags: map[string]vpc.Tags{},
	}}
	s.regions[name] = r
	return r, nil
}

// ServeHTTP answers one EC2 Query API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	action, code := "", "InternalError"
	defer func() {
		// A bug in one handler answers that request, never ends the daemon.
		if p := recover(); p != nil {
			e := Errorf("InternalError", "vpcemu failed on this request: %v", p)
			writeXML(w, e.Status, marshalError(e, reqID))
		}
		if s.cfg.Observe != nil {
			if _, ok := actions[action]; !ok {
				action = "Unknown"
			}
			s.cfg.Observe(action, code)
		}
	}()
	action, body, err := s.serve(r, reqID)
	if err != nil {
		code = err.Code
		writeXML(w, err.Status, marshalError(err, reqID))
		return
	}
	out, merr := marshalResponse(action, reqID, body)
	if merr != nil {
		e := Errorf("InternalError", "writing the response: %v", merr)
		writeXML(w, e.Status, marshalError(e, reqID))
		return
	}
	code = ""
	writeXML(w, http.StatusOK, out)
}

func (s *Server) serve(r *http.Request, reqID string) (string, any, *Error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "", nil, &Error{Status: http.StatusMethodNotAllowed, Code: "InvalidHttpRequest", Message: "use POST (or GET) /"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge",
				Message: fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
		}
		return "", nil, Errorf("InvalidHttpRequest", "reading the request body: %v", err)
	}
	form, perr := parseForm(r, raw)
	if perr != nil {
		return "", nil, perr
	}
	regionName, aerr := s.authenticate(r, raw)
	if aerr != nil {
		return "", nil, aerr
	}
	params := parseParams(form)
	action, _ := params.get("Action")
	if action == "" {
		return "", nil, Errorf("MissingAction", "The request must contain the parameter Action")
	}
	spec, ok := actions[action]
	if !ok {
		if modelOperations[action] {
			return action, nil, Errorf("UnsupportedOperation", "The action %s is not supported by vpcemu.", action)
		}
		return action, nil, Errorf("InvalidAction", "The action %s is not valid for this web service.", action)
	}
	reg, rerr := s.region(regionName)
	if rerr != nil {
		return action, nil, rerr
	}
	c := &call{ctx: r.Context(), srv: s, reg: reg, action: action, spec: spec, params: params, now: s.cfg.Now()}
	if v, ok := params.get("DryRun"); ok {
		switch strings.ToLower(v) {
		case "true":
			c.dryRun = true
		case "false":
		default:
			return action, nil, invalidValue("Invalid value '%s' for DryRun: expected true or false", v)
		}
	}
	if !spec.mutates {
		reg.mu.RLock()
		defer reg.mu.RUnlock()
		body, herr := spec.fn(c)
		if herr != nil {
			return action, nil, FromValidation(herr)
		}
		if c.dryRun {
			// A read action with DryRun: the parameters were valid.
			return action, nil, dryRunOK()
		}
		return action, body, nil
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	var body any
	var herr error
	if token, _ := params.get("ClientToken"); spec.idempotent && token != "" && !c.dryRun {
		body, herr = reg.once(action, token, canonicalParams(form), c.run)
	} else {
		body, herr = c.run()
	}
	if herr != nil {
		return action, nil, FromValidation(herr)
	}
	if c.dryRun {
		return action, nil, dryRunOK()
	}
	return action, body, nil
}

// once runs a request with a ClientToken (API-6), holding mu: the same
// request again gets the first one's answer, also while the first is in
// flight (it waits for it); a token is kept only for a request that
// succeeded, so that one that finally failed is answered anew.
func (r *region) once(action, token, params string, run func() (any, error)) (body any, err error) {
	key := action + "\x00" + token
	for {
		prev, ok := r.tokens[key]
		if !ok {
			break
		}
		if prev.params != params {
			return nil, Errorf("IdempotentParameterMismatch", "The client token %s was used with different parameters.", token)
		}
		if prev.done == nil {
			return prev.body, nil
		}
		if testHookTokenWait != nil {
			testHookTokenWait()
		}
		r.mu.Unlock()
		<-prev.done
		r.mu.Lock()
	}
	if len(r.tokens) >= maxTokens {
		clear(r.tokens)
	}
	mine := tokenEntry{params: params, done: make(chan struct{})}
	r.tokens[key] = mine
	succeeded := false
	defer func() {
		if succeeded {
			r.tokens[key] = tokenEntry{params: params, body: body}
		} else if r.tokens[key].done == mine.done {
			delete(r.tokens, key)
		}
		close(mine.done)
	}()
	body, err = run()
	succeeded = err == nil
	return body, err
}

// testHookTokenWait, when set, is called when a request waits for the
// first request of its ClientToken.
var testHookTokenWait func()

// maxTokens bounds the idempotency cache; AWS keeps tokens for a limited
// time too.
const maxTokens = 10000

// parseForm reads the parameters: the form body of a POST (any content
// type is read as a form) and the query string (API-1).
func parseForm(r *http.Request, body []byte) (url.Values, *Error) {
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, Errorf("MalformedQueryString", "the query string is not valid URL encoding: %v", err)
	}
	if len(body) > 0 {
		b, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, Errorf("MalformedQueryString", "the request body is not valid form encoding: %v", err)
		}
		for k, v := range b {
			form[k] = v
		}
	}
	return form, nil
}

// canonicalParams is the form without ClientToken, DryRun and the
// signature, in key order: what must match for a ClientToken to replay.
func canonicalParams(form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k == "ClientToken" || strings.HasPrefix(k, "X-Amz-") {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(form[k], "\x00"))
		b.WriteByte('&')
	}
	return b.String()
}

// authenticate returns the region a request is for: the credential scope's,
// else us-east-1. In strict mode it verifies the signature (API-13).
func (s *Server) authenticate(r *http.Request, body []byte) (string, *Error) {
	sig, signed, err := parseSigV4(r)
	if err != nil && len(s.cfg.Credentials) > 0 {
		return "", Errorf("AuthFailure", "%s", err.Message)
	}
	region := "us-east-1"
	if signed && err == nil && sig.region != "" {
		region = sig.region
	}
	if len(s.cfg.Credentials) == 0 {
		return region, nil
	}
	if !signed {
		return "", Errorf("AuthFailure", "the request is not signed; sign it with SigV4 and one of the server's credentials")
	}
	secret, ok := s.cfg.Credentials[sig.accessKey]
	if !ok {
		return "", Errorf("AuthFailure", "AWS was not able to validate the provided access credentials (unknown access key %s)", sig.accessKey)
	}
	if verr := sig.verify(r, body, secret, s.cfg.Now()); verr != nil {
		return "", verr
	}
	return region, nil
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// call is one request being answered.
type call struct {
	ctx    context.Context
	srv    *Server
	reg    *region
	action string
	spec   actionSpec
	params *node
	dryRun bool
	now    time.Time
	// solo: answered on its own, its change committed before apply
	// returns (a failed batch's requests answered again).
	solo  bool
	stale bool   // a solo Commit found the topology changed under it
	entry *entry // the change it queued (group commit)
}

// decode reads the request's parameters into in (a pointer to an input
// struct).
func (c *call) decode(in any) *Error { return decode(c.params, in) }

// topo is the topology a request works on: for a mutating one the desired
// topology, the committed one with the changes accepted before it; for a
// read the committed one (what a client was answered for).
func (c *call) topo() *vpc.Topology {
	if c.spec.mutates && c.reg.pending != nil {
		return c.reg.pending
	}
	return c.reg.backend.Topology()
}

// view renders topo.
func (c *call) view() awsshape.View {
	return awsshape.View{T: c.topo(), Ann: &c.reg.ann}
}

// apply makes a change: validated on the desired topology, made live,
// committed; with DryRun only validated, and answered DryRunOperation. It
// returns once the change is live, with reg.mu held again, the view of
// the topology the change planned (later changes of its batch not
// included).
func (c *call) apply(edit func(*vpc.Topology) error) (awsshape.View, error) {
	r, b := c.reg, c.reg.backend
	base := c.topo()
	next, err := b.Plan(c.ctx, base, edit)
	if err != nil {
		return awsshape.View{}, FromValidation(err)
	}
	if c.dryRun {
		return awsshape.View{}, dryRunOK()
	}
	if c.solo {
		if err := b.Commit(c.ctx, base, next); err != nil {
			c.stale = errors.Is(err, ErrStale)
			return awsshape.View{}, FromValidation(err)
		}
		return awsshape.View{T: next, Ann: &r.ann}, nil
	}
	if c.entry != nil {
		// A second change would be answered again on its own with the
		// first (entry.redo): handlers make one.
		return awsshape.View{}, Errorf("InternalError", "vpcemu: %s made two changes in one request", c.action)
	}
	e := &entry{c: c, edited: true, result: next, done: make(chan struct{})}
	c.entry = e
	if r.pending == nil {
		r.base = base
	}
	r.pending = next
	r.queue = append(r.queue, e)
	if !r.committing {
		r.committing = true
		go r.commit()
	}
	r.mu.Unlock()
	<-e.done
	r.mu.Lock()
	if e.redone {
		// The committer answered it again on its own (run returns that).
		return awsshape.View{}, errRedone
	}
	return awsshape.View{T: e.result, Ann: &r.ann}, nil
}

// errRedone ends a handler whose request the committer answered again.
var errRedone = Errorf("InternalError", "vpcemu: the request was answered again")

// run answers a mutating request, holding reg.mu (released while it waits
// for the committer).
func (c *call) run() (any, error) {
	body, err := c.spec.fn(c)
	r := c.reg
	if e := c.entry; e != nil {
		if e.redone {
			return e.body, e.err
		}
		return body, err
	}
	if c.dryRun || r.pending == nil {
		return body, err
	}
	// Its answer rests on changes not yet live: it is given once they are,
	// and the request is answered again if they failed.
	e := &entry{c: c, body: body, err: err, done: make(chan struct{})}
	r.queue = append(r.queue, e)
	r.mu.Unlock()
	<-e.done
	r.mu.Lock()
	return e.body, e.err
}

// commit is the region's committer: it makes the queued changes live, a
// batch at a time, until the queue is empty.
func (r *region) commit() {
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		if len(batch) == 0 {
			r.pending, r.base, r.committing = nil, nil, false
			r.mu.Unlock()
			return
		}
		base, next := r.base, r.pending
		r.base = next
		r.mu.Unlock()
		var err error
		if next != base {
			// The batch is no request's: a client that goes away does not
			// take the others' changes with it.
			err = r.commitBatch(base, next)
		}
		if err != nil {
			// What was accepted since was planned on this batch: it goes
			// with it. Holding mu, nothing new is accepted meanwhile.
			r.mu.Lock()
			batch = append(batch, r.queue...)
			r.queue = nil
			r.pending, r.base = nil, nil
			for _, e := range batch {
				e.redo()
			}
			r.mu.Unlock()
		}
		for _, e := range batch {
			close(e.done)
		}
	}
}

// commitBatch commits a batch; a bug in the backend fails the batch (its
// requests are then answered one by one, each recovering on its own),
// never ends the daemon.
func (r *region) commitBatch(base, next *vpc.Topology) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("vpcemu failed making the changes live: %v", p)
		}
	}()
	return r.backend.Commit(context.Background(), base, next)
}

// redo answers e's request again on its own on the committed topology,
// holding reg.mu: its change, if any, is committed before the next
// request's. A request that failed is answered again too (it may have
// failed on a change that did not go live); one that succeeded without a
// change (it changed only the API's own records, as ModifyVpcAttribute)
// keeps its answer.
func (e *entry) redo() {
	if !e.edited && e.err == nil {
		return
	}
	for try := 0; ; try++ {
		c := *e.c
		c.solo, c.stale, c.entry = true, false, nil
		e.body, e.err = c.answer()
		if !c.stale || try == 2 {
			break
		}
	}
	e.redone = true
}

// answer runs the handler; a panic answers this request only.
func (c *call) answer() (body any, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, Errorf("InternalError", "vpcemu failed on this request: %v", p)
		}
	}()
	return c.spec.fn(c)
}

// actionSpec is how an action is served.
type actionSpec struct {
	in, out    reflect.Type // the decoded input and the response body
	fn         func(*call) (any, error)
	mutates    bool // takes the region's lock exclusively
	idempotent bool // honours ClientToken (API-6)
}
