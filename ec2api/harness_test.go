package ec2api

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// testServer is an API server over in-memory regions that records every
// exchange, so tests can check what a client sent and what it got.
type testServer struct {
	*httptest.Server
	api *Server
	mu  sync.Mutex
	log []exchange
}

type exchange struct {
	form   url.Values
	header http.Header
	status int
	body   string
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{api: NewServer(cfg)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		form, _ := url.ParseQuery(string(raw))
		rec := httptest.NewRecorder()
		ts.api.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		ts.mu.Lock()
		ts.log = append(ts.log, exchange{form, r.Header.Clone(), rec.Code, rec.Body.String()})
		ts.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return ts
}

// last returns the last exchange of action.
func (s *testServer) last(t *testing.T, action string) exchange {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.log) - 1; i >= 0; i-- {
		if s.log[i].form.Get("Action") == action {
			return s.log[i]
		}
	}
	t.Fatalf("no %s request was sent", action)
	return exchange{}
}

// post sends a raw form, unsigned, and returns the status and body.
func (s *testServer) post(t *testing.T, form string) (int, string) {
	t.Helper()
	resp, err := http.Post(s.URL+"/", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// call sends Action with params (Version added) and decodes the response
// into out (nil to skip); it returns the status and raw body.
func (s *testServer) call(t *testing.T, action string, params map[string]string, out any) (int, string) {
	t.Helper()
	v := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	for k, x := range params {
		v.Set(k, x)
	}
	status, body := s.post(t, v.Encode())
	if out != nil && status == 200 {
		if err := xml.Unmarshal([]byte(body), out); err != nil {
			t.Fatalf("%s: decode %v: %s", action, err, body)
		}
	}
	return status, body
}

// mustCall is call that fails the test on a non-200 answer.
func (s *testServer) mustCall(t *testing.T, action string, params map[string]string, out any) string {
	t.Helper()
	status, body := s.call(t, action, params, out)
	if status != 200 {
		t.Fatalf("%s %v: HTTP %d: %s", action, params, status, body)
	}
	return body
}

// apiError is the error document of API-11.
type apiError struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

// wantError checks an error answer's status and code.
func (s *testServer) wantError(t *testing.T, action string, params map[string]string, status int, code string) apiError {
	t.Helper()
	got, body := s.call(t, action, params, nil)
	var e apiError
	if err := xml.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%s: not an error document (%v): %s", action, err, body)
	}
	if got != status || e.Code != code {
		t.Fatalf("%s %v: HTTP %d %s (%s), want %d %s", action, params, got, e.Code, e.Message, status, code)
	}
	return e
}

// sdk returns an aws-sdk-go-v2 EC2 client of the server.
func (s *testServer) sdk(region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// awsCLI finds the AWS CLI; make deps installs it (Debian's awscli). The
// tests that drive it skip without it, and fail under make test.
func awsCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("VPCEMU_REQUIRE_PRIV") == "1" {
			t.Fatal("the AWS CLI is not installed (make deps installs awscli)")
		}
		t.Skip("the AWS CLI is not installed (make deps installs awscli)")
	}
	return p
}

// cli runs `aws ec2 ARGS` against the server with throw-away credentials
// and no user configuration; it returns stdout, stderr and the exit code.
func (s *testServer) cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return s.cliAs(t, "test", "test", args...)
}

// cliAs runs the CLI with the given credentials.
func (s *testServer) cliAs(t *testing.T, key, secret string, args ...string) (string, string, int) {
	t.Helper()
	bin := awsCLI(t)
	cmd := exec.Command(bin, append([]string{"--endpoint-url", s.URL, "--region", "us-east-1", "--output", "json", "ec2"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}
