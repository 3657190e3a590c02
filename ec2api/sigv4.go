package ec2api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4 is what a request's SigV4 signature claims (API-13), from the
// Authorization header or, for presigned requests, the query string.
type sigV4 struct {
	accessKey     string
	date          string // yyyymmdd of the scope
	region        string
	service       string
	signedHeaders []string
	signature     string
	amzDate       string // X-Amz-Date
	presigned     bool
}

// parseSigV4 reads the signature fields; ok is false when the request is
// not SigV4-signed at all, err set when it claims to be but is malformed.
func parseSigV4(r *http.Request) (s sigV4, ok bool, err *Error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		rest, found := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
		if !found {
			return s, true, Errorf("IncompleteSignature", "Authorization header: only AWS4-HMAC-SHA256 (SigV4) is supported")
		}
		for part := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				if !s.setCredential(v) {
					return s, true, Errorf("IncompleteSignature", "Authorization header: malformed Credential %q; valid: KEY/yyyymmdd/REGION/ec2/aws4_request", v)
				}
			case "SignedHeaders":
				s.signedHeaders = strings.Split(v, ";")
			case "Signature":
				s.signature = v
			}
		}
		s.amzDate = r.Header.Get("X-Amz-Date")
		if s.amzDate == "" {
			s.amzDate = r.Header.Get("Date")
		}
	} else if q := r.URL.Query(); q.Get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256" {
		s.presigned = true
		if !s.setCredential(q.Get("X-Amz-Credential")) {
			return s, true, Errorf("IncompleteSignature", "malformed X-Amz-Credential %q", q.Get("X-Amz-Credential"))
		}
		s.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		s.signature = q.Get("X-Amz-Signature")
		s.amzDate = q.Get("X-Amz-Date")
	} else {
		return s, false, nil
	}
	if s.signature == "" || len(s.signedHeaders) == 0 || s.signedHeaders[0] == "" {
		return s, true, Errorf("IncompleteSignature", "the SigV4 signature lacks SignedHeaders or Signature")
	}
	return s, true, nil
}

func (s *sigV4) setCredential(v string) bool {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] != "aws4_request" {
		return false
	}
	s.accessKey, s.date, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
	return true
}

// verify recomputes the signature with secret over the request as received
// (body is its payload) and compares. now bounds the clock skew to 15
// minutes, as AWS does.
func (s *sigV4) verify(r *http.Request, body []byte, secret string, now time.Time) *Error {
	t, err := time.Parse("20060102T150405Z", s.amzDate)
	if err != nil {
		return Errorf("AuthFailure", "X-Amz-Date %q is not yyyymmddThhmmssZ", s.amzDate)
	}
	if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return Errorf("AuthFailure", "Signature expired: %s is more than 15 minutes from the server's time %s", s.amzDate, now.UTC().Format("20060102T150405Z"))
	}
	if s.date != s.amzDate[:8] {
		return Errorf("AuthFailure", "the credential scope date %s is not the request date %s", s.date, s.amzDate[:8])
	}
	want := s.compute(r, body, secret)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(s.signature))) {
		return Errorf("AuthFailure", "AWS was not able to validate the provided access credentials")
	}
	return nil
}

func (s *sigV4) compute(r *http.Request, body []byte, secret string) string {
	var cr strings.Builder
	cr.WriteString(r.Method)
	cr.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	cr.WriteString(path)
	cr.WriteByte('\n')
	cr.WriteString(canonicalQuery(r.URL.Query(), s.presigned))
	cr.WriteByte('\n')
	for _, h := range s.signedHeaders {
		cr.WriteString(h)
		cr.WriteByte(':')
		cr.WriteString(headerValue(r, h))
		cr.WriteByte('\n')
	}
	cr.WriteByte('\n')
	cr.WriteString(strings.Join(s.signedHeaders, ";"))
	cr.WriteByte('\n')
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	cr.WriteString(payload)

	crSum := sha256.Sum256([]byte(cr.String()))
	scope := s.date + "/" + s.region + "/" + s.service + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + s.amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSum[:])
	k := hmacSHA256([]byte("AWS4"+secret), s.date)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, sts))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// headerValue is a header's canonical value: values joined by commas, each
// trimmed with inner runs of spaces collapsed.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// canonicalQuery sorts the query by key and value, each URI-encoded;
// a presigned request's own signature is not part of what it signs.
func canonicalQuery(q url.Values, presigned bool) string {
	var pairs [][2]string
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, [2]string{uriEncode(k), uriEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

// uriEncode is SigV4's encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
