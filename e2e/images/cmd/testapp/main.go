// Command testapp is the application behind the sidecar in the end-to-end tests: an HTTP/1.1
// server that answers every request with what it received, as JSON:
//
//	{"method": "GET", "path": "/a/../b?x=1", "proto": "HTTP/1.1",
//	 "headers": {"x-auth-subject": ["alice"], ...},     // names lower-cased, values in order
//	 "rawHeaders": [["X-Auth-Subject", "alice"], ...],  // names exactly as sent, in order
//	 "bodyBytes": 0, "bodySha256": "e3b0..."}
//
// path is the raw request-target, not normalised. /healthz answers {"status":"ok"} (for
// probes). Each request is logged as one JSON line on stdout. The parser is written here,
// not net/http's, so header names arrive uncanonicalised: x_auth_subject and X-Auth-Subject
// stay distinct, which is what a test of header spoofing needs to see.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	maxHeadBytes = 64 << 10
	maxHeaders   = 256
	idleTimeout  = 60 * time.Second
)

type echo struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Proto      string              `json:"proto"`
	Headers    map[string][]string `json:"headers"`
	RawHeaders [][2]string         `json:"rawHeaders"`
	BodyBytes  int64               `json:"bodyBytes"`
	BodySha256 string              `json:"bodySha256"`
}

var logMu sync.Mutex

func logLine(fields map[string]any) {
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	line, _ := json.Marshal(fields)
	logMu.Lock()
	os.Stdout.Write(append(line, '\n'))
	logMu.Unlock()
}

func main() {
	port := flag.Int("port", 8080, "TCP port to listen on")
	listen := flag.String("listen", "0.0.0.0", "address to bind")
	flag.Parse()
	if *port < 1 || *port > 65535 {
		fmt.Fprintf(os.Stderr, "testapp: --port must be between 1 and 65535, got %d\n", *port)
		os.Exit(2)
	}
	addr := net.JoinHostPort(*listen, strconv.Itoa(*port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapp: cannot listen on %s: %v\n", addr, err)
		os.Exit(1)
	}
	logLine(map[string]any{"msg": "listening", "address": ln.Addr().String()})
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "testapp: accept: %v\n", err)
			os.Exit(1)
		}
		go serve(conn)
	}
}

func serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 16<<10)
	bw := bufio.NewWriter(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(idleTimeout))
		req, err := readHead(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				writeResponse(bw, 400, map[string]string{"error": err.Error()}, false)
				logLine(map[string]any{"remote": conn.RemoteAddr().String(), "status": 400, "error": err.Error()})
			}
			return
		}
		keepAlive, status, err := handle(req, br, bw)
		logLine(map[string]any{"remote": conn.RemoteAddr().String(), "method": req.Method, "path": req.Path, "status": status})
		if err != nil || !keepAlive {
			return
		}
	}
}

// readHead reads a request line and header block, keeping names as sent.
func readHead(br *bufio.Reader) (*echo, error) {
	var read int
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		read += len(s)
		if read > maxHeadBytes {
			return "", errors.New("request head larger than 64 KiB")
		}
		if err != nil {
			if s == "" {
				return "", err
			}
			return "", errors.New("connection closed inside the request head")
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	first, err := line()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(first, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, fmt.Errorf("malformed request line %q", first)
	}
	req := &echo{Method: parts[0], Path: parts[1], Proto: parts[2], Headers: map[string][]string{}, RawHeaders: [][2]string{}}
	for {
		h, err := line()
		if err != nil {
			return nil, err
		}
		if h == "" {
			return req, nil
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed header line %q", h)
		}
		if len(req.RawHeaders) == maxHeaders {
			return nil, errors.New("more than 256 header fields")
		}
		value = strings.Trim(value, " \t")
		req.RawHeaders = append(req.RawHeaders, [2]string{name, value})
		lower := strings.ToLower(name)
		req.Headers[lower] = append(req.Headers[lower], value)
	}
}

func handle(req *echo, br *bufio.Reader, bw *bufio.Writer) (keepAlive bool, status int, err error) {
	var body io.Reader = strings.NewReader("")
	te := strings.ToLower(strings.Join(req.Headers["transfer-encoding"], ","))
	cl := req.Headers["content-length"]
	switch {
	case te != "" && len(cl) > 0:
		writeResponse(bw, 400, map[string]string{"error": "both Content-Length and Transfer-Encoding"}, false)
		return false, 400, nil
	case te == "chunked":
		body = httputil.NewChunkedReader(br)
	case te != "":
		writeResponse(bw, 501, map[string]string{"error": "unsupported Transfer-Encoding " + te}, false)
		return false, 501, nil
	case len(cl) > 0:
		n, perr := strconv.ParseInt(cl[0], 10, 64)
		if perr != nil || n < 0 || len(cl) > 1 {
			writeResponse(bw, 400, map[string]string{"error": "bad Content-Length"}, false)
			return false, 400, nil
		}
		body = io.LimitReader(br, n)
	}
	sum := sha256.New()
	n, err := io.Copy(sum, body)
	if err != nil {
		return false, 400, err
	}
	req.BodyBytes, req.BodySha256 = n, hex.EncodeToString(sum.Sum(nil))
	conn := strings.ToLower(strings.Join(req.Headers["connection"], ","))
	keepAlive = req.Proto == "HTTP/1.1" && !strings.Contains(conn, "close") ||
		req.Proto == "HTTP/1.0" && strings.Contains(conn, "keep-alive")
	if p, _, _ := strings.Cut(req.Path, "?"); p == "/healthz" {
		return keepAlive, 200, writeResponse(bw, 200, map[string]string{"status": "ok"}, keepAlive)
	}
	return keepAlive, 200, writeResponse(bw, 200, req, keepAlive)
}

func writeResponse(bw *bufio.Writer, status int, v any, keepAlive bool) error {
	body, _ := json.Marshal(v)
	body = append(body, '\n')
	connection := "keep-alive"
	if !keepAlive {
		connection = "close"
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
		status, statusText(status), len(body), connection)
	bw.Write(body)
	return bw.Flush()
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 501:
		return "Not Implemented"
	}
	return "Status"
}
