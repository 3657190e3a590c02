package services

import (
	"bytes"
	"io"
	"net"
	"time"
)

// httpMethods are the request-line openings that make the TCP echo server
// answer like a web server, so that `curl http://host:PORT` shows something.
var httpMethods = [][]byte{
	[]byte("GET "), []byte("HEAD "), []byte("POST "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "),
}

// looksLikeHTTP reports whether b starts with an HTTP request line.
func looksLikeHTTP(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, m) {
			i := bytes.IndexByte(b, '\n')
			line := b
			if i >= 0 {
				line = b[:i]
			}
			return bytes.Contains(line, []byte(" HTTP/"))
		}
	}
	return false
}

// httpEchoResponse is what the TCP echo server sends to an HTTP client.
func httpEchoResponse(host string) []byte {
	return []byte("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + host + " tcp echo\n")
}

// maxHTTPHeader bounds how much of an HTTP request the echo server reads.
const maxHTTPHeader = 64 << 10

// echoTCP echoes c until the peer stops sending, or answers one HTTP request.
func echoTCP(c net.Conn, host string) {
	buf := make([]byte, 32<<10)
	n, err := c.Read(buf)
	if n == 0 {
		return
	}
	first := buf[:n]
	if looksLikeHTTP(first) {
		// Read the whole header before answering: closing with unread data
		// makes the kernel send RST, which can cost the client the answer.
		req := append([]byte(nil), first...)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for !bytes.Contains(req, []byte("\r\n\r\n")) && !bytes.Contains(req, []byte("\n\n")) && len(req) < maxHTTPHeader {
			m, rerr := c.Read(buf)
			req = append(req, buf[:m]...)
			if rerr != nil {
				break
			}
		}
		_, _ = c.Write(httpEchoResponse(host))
		closeWrite(c)
		return
	}
	if _, werr := c.Write(first); werr != nil || err != nil {
		closeWrite(c)
		return
	}
	_, _ = io.Copy(c, c)
	closeWrite(c)
}

// closeWrite sends FIN so the peer sees a clean end of the echo.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
