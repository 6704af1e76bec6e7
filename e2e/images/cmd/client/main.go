// Command client is the HTTP client the end-to-end tests run inside a pod (kubectl exec). Every
// mode prints one JSON document on stdout; a usage error exits 2, a failed request in `get`
// exits 1 (with {"error": ...}), anything the server answered exits 0.
//
//	client get   [-X METHOD] [-H 'Name: value']... [-d BODY] [--timeout 10s] URL
//	    → {"status": 200, "headers": {"Content-Type": ["..."]}, "body": "...", "json": {...}}
//	client burst [-n 1000] [-H ...] [--timeout 60s] URL
//	    opens n connections at once, sends one request on each while all are open, holds every
//	    connection until all have answered or failed, then closes them
//	    → {"connections": 1000, "connected": 1000, "statuses": {"200": 990, "503": 10},
//	       "errors": {}, "durationMs": 812}
//	client load  [--rate 50] [--duration 30s] [--expect 200] [-H ...] [--timeout 5s] URL
//	    sends requests at a steady rate over keep-alive connections
//	    → {"sent": 1500, "statuses": {"200": 1500}, "errors": {}, "failures": 0,
//	       "firstFailures": []}
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not 'Name: value'", v)
	}
	*h = append(*h, v)
	return nil
}

func (h headerFlags) apply(req *http.Request) {
	for _, v := range h {
		name, value, _ := strings.Cut(v, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		// Set the map directly: the name goes out exactly as given (x_auth_subject stays so).
		req.Header[name] = append(req.Header[name], value)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage("missing mode")
	}
	var out any
	code := 0
	switch os.Args[1] {
	case "get":
		out, code = get(os.Args[2:])
	case "burst":
		out = burst(os.Args[2:])
	case "load":
		out = load(os.Args[2:])
	case "-h", "--help", "help":
		usage("")
	default:
		usage(fmt.Sprintf("unknown mode %q", os.Args[1]))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
	os.Exit(code)
}

func usage(problem string) {
	if problem != "" {
		fmt.Fprintf(os.Stderr, "client: %s\n", problem)
	}
	fmt.Fprintln(os.Stderr, "usage: client get|burst|load [flags] URL (client MODE -h for the flags)")
	os.Exit(2)
}

func parse(fs *flag.FlagSet, args []string) *url.URL {
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 1 {
		usage(fmt.Sprintf("%s needs exactly one URL, got %d arguments", fs.Name(), fs.NArg()))
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		usage(fmt.Sprintf("%q is not an http(s) URL", fs.Arg(0)))
	}
	return u
}

func newRequest(method string, u *url.URL, body string, headers headerFlags) *http.Request {
	req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
	if err != nil {
		usage(err.Error())
	}
	if body == "" {
		req.Body, req.ContentLength = nil, 0
	}
	// The raw path as given, not re-escaped: tests send odd paths on purpose.
	req.URL.Opaque = rawPath(u)
	headers.apply(req)
	return req
}

func rawPath(u *url.URL) string {
	p := u.RawPath
	if p == "" {
		p = u.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return p
}

func rawRequestTarget(u *url.URL) string {
	p := rawPath(u)
	if u.RawQuery != "" || u.ForceQuery {
		p += "?" + u.RawQuery
	}
	return p
}

func transport(maxConns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     30 * time.Second,
		TLSClientConfig:     &tls.Config{},
	}
}

type getResult struct {
	Status  int                 `json:"status,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    string              `json:"body"`
	JSON    json.RawMessage     `json:"json,omitempty"`
	Error   string              `json:"error,omitempty"`
}

func get(args []string) (any, int) {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	var headers headerFlags
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	method := fs.String("X", "GET", "request method")
	data := fs.String("d", "", "request body")
	timeout := fs.Duration("timeout", 10*time.Second, "whole-request timeout")
	u := parse(fs, args)
	client := &http.Client{Transport: transport(1), Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(newRequest(*method, u, *data, headers))
	if err != nil {
		return getResult{Error: err.Error()}, 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	res := getResult{Status: resp.StatusCode, Headers: resp.Header, Body: string(body)}
	if err != nil {
		res.Error = "reading the body: " + err.Error()
		return res, 1
	}
	if json.Valid(body) && len(body) > 0 {
		res.JSON = body
	}
	return res, 0
}

type tally struct {
	mu       sync.Mutex
	Statuses map[string]int `json:"statuses"`
	Errors   map[string]int `json:"errors"`
}

func newTally() *tally { return &tally{Statuses: map[string]int{}, Errors: map[string]int{}} }

func (t *tally) status(code int) {
	t.mu.Lock()
	t.Statuses[strconv.Itoa(code)]++
	t.mu.Unlock()
}

func (t *tally) err(stage string, err error) {
	t.mu.Lock()
	t.Errors[stage+": "+errorKind(err)]++
	t.mu.Unlock()
}

// errorKind keeps the part of an error that is the same across connections (no addresses).
func errorKind(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

type burstResult struct {
	Connections int `json:"connections"`
	Connected   int `json:"connected"`
	*tally
	DurationMs int64 `json:"durationMs"`
}

func burst(args []string) any {
	fs := flag.NewFlagSet("burst", flag.ContinueOnError)
	var headers headerFlags
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	n := fs.Int("n", 1000, "connections")
	timeout := fs.Duration("timeout", 60*time.Second, "deadline for the whole burst")
	u := parse(fs, args)
	if *n < 1 {
		usage("-n must be at least 1")
	}
	if u.Scheme != "http" {
		usage("burst speaks plain HTTP/1.1 only")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var head strings.Builder
	fmt.Fprintf(&head, "GET %s HTTP/1.1\r\nHost: %s\r\n", rawRequestTarget(u), u.Host)
	for _, h := range headers {
		fmt.Fprintf(&head, "%s\r\n", h)
	}
	head.WriteString("\r\n")
	request := []byte(head.String())

	start := time.Now()
	deadline := start.Add(*timeout)
	t := newTally()
	conns := make([]net.Conn, *n)
	var wg sync.WaitGroup
	// Connect all first, then send every request while all connections are open.
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := net.Dialer{Deadline: deadline}
			c, err := d.DialContext(context.Background(), "tcp", host)
			if err != nil {
				t.err("connect", err)
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	connected := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		connected++
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			c.SetDeadline(deadline)
			if _, err := c.Write(request); err != nil {
				t.err("write", err)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.err("read", err)
				return
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			t.status(resp.StatusCode)
		}(c)
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return burstResult{Connections: *n, Connected: connected, tally: t, DurationMs: time.Since(start).Milliseconds()}
}

type loadResult struct {
	Sent int `json:"sent"`
	*tally
	Failures      int      `json:"failures"`
	FirstFailures []string `json:"firstFailures"`
	DurationMs    int64    `json:"durationMs"`
}

func load(args []string) any {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var headers headerFlags
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	rate := fs.Int("rate", 50, "requests per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to send")
	expect := fs.Int("expect", 200, "the status every request should get; others count as failures")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	u := parse(fs, args)
	if *rate < 1 || *rate > 10000 {
		usage("--rate must be between 1 and 10000")
	}
	if *duration <= 0 || *duration > time.Hour {
		usage("--duration must be positive and at most 1h")
	}
	client := &http.Client{Transport: transport(*rate), Timeout: *timeout}
	t := newTally()
	res := loadResult{tally: t, FirstFailures: []string{}}
	var mu sync.Mutex
	fail := func(what string) {
		mu.Lock()
		res.Failures++
		if len(res.FirstFailures) < 20 {
			res.FirstFailures = append(res.FirstFailures, time.Now().UTC().Format(time.RFC3339Nano)+" "+what)
		}
		mu.Unlock()
	}
	start := time.Now()
	ticker := time.NewTicker(time.Second / time.Duration(*rate))
	defer ticker.Stop()
	var wg sync.WaitGroup
	for time.Since(start) < *duration {
		<-ticker.C
		res.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Do(newRequest("GET", u, "", headers))
			if err != nil {
				t.err("request", err)
				fail(err.Error())
				return
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			t.status(resp.StatusCode)
			if resp.StatusCode != *expect {
				fail("status " + strconv.Itoa(resp.StatusCode))
			}
		}()
	}
	wg.Wait()
	res.DurationMs = time.Since(start).Milliseconds()
	return res
}
