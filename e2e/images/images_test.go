// Tests of the images build.sh exports: each tarball is checked (manifest, digests, tag,
// entrypoint, loader and libraries, user, /tmp), and the programs of the three test images are
// run from inside their tarballs as real processes on loopback.
//
// Run by build.sh --test (or: eval "$(e2e/images/build.sh)"; cd e2e/images; go test ./...).
// Without the TOKENGATE_IMAGE_* variables the programs are built from source instead, and the
// tarball checks of the missing images are skipped with that reason.
package images

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"tokengate.local/e2e/images/archive"
)

// chartAppVersion is the version the chart installs; the Jib images must carry it as their tag.
func chartAppVersion(t *testing.T) string {
	data, err := os.ReadFile("../../helm/tokengate/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^appVersion:\s*"?([^"\s]+)"?`).FindSubmatch(data)
	if m == nil {
		t.Fatal("helm/tokengate/Chart.yaml has no appVersion")
	}
	return string(m[1])
}

func TestTarballs(t *testing.T) {
	app := chartAppVersion(t)
	for _, c := range []struct {
		env, tag string
		static   bool
	}{
		{"TOKENGATE_IMAGE_PAUSE", "tokengate.local/pause:3.10", true},
		{"TOKENGATE_IMAGE_TESTAPP", "tokengate.local/testapp:0.1.0", true},
		{"TOKENGATE_IMAGE_CLIENT", "tokengate.local/client:0.1.0", true},
		{"TOKENGATE_IMAGE_OPERATOR", "tokengate/operator:" + app, false},
		{"TOKENGATE_IMAGE_SIDECAR", "tokengate/sidecar:" + app, false},
	} {
		t.Run(c.env, func(t *testing.T) {
			file := os.Getenv(c.env)
			if file == "" {
				t.Skipf("%s is not set: run e2e/images/build.sh --test to check the built images", c.env)
			}
			if err := archive.Verify(file, c.tag, c.static); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJibImagesShipTheirOwnJava(t *testing.T) {
	for _, env := range []string{"TOKENGATE_IMAGE_OPERATOR", "TOKENGATE_IMAGE_SIDECAR"} {
		t.Run(env, func(t *testing.T) {
			file := os.Getenv(env)
			if file == "" {
				t.Skipf("%s is not set: run e2e/images/build.sh --test to check the built images", env)
			}
			l, err := archive.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			prog, _, err := l.Executable()
			if err != nil || prog != "/opt/java/bin/java" {
				t.Fatalf("entrypoint resolves to %q (%v), want the image's /opt/java/bin/java", prog, err)
			}
			if _, e, err := l.Resolve("/opt/java/lib/security/cacerts"); err != nil || len(e.Content) < 10000 {
				t.Fatalf("no CA certificates in the runtime: %v", err)
			}
			if _, e, err := l.Resolve("/etc/passwd"); err != nil || !strings.Contains(string(e.Content), ":65532:65532:") {
				t.Fatalf("/etc/passwd lacks the nonroot user 65532: %v", err)
			}
			n, err := l.CheckLinking()
			if err != nil {
				t.Fatal(err)
			}
			if n < 20 {
				t.Fatalf("only %d ELF files in a Java runtime image", n)
			}
		})
	}
}

// program returns the entrypoint of the image named by env, extracted from its tarball, or the
// command built from source when env is unset.
func program(t *testing.T, env, cmd string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), cmd)
	if file := os.Getenv(env); file != "" {
		l, err := archive.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		_, e, err := l.Executable()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, e.Content, 0o755); err != nil {
			t.Fatal(err)
		}
		return out
	}
	build := exec.Command("go", "build", "-o", out, "./cmd/"+cmd)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", cmd, err, msg)
	}
	return out
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type testApp struct {
	addr string
	log  *safeBuffer
}

type safeBuffer struct {
	lines chan string
}

// startTestApp runs the testapp on loopback and waits until it accepts connections.
func startTestApp(t *testing.T) testApp {
	t.Helper()
	bin := program(t, "TOKENGATE_IMAGE_TESTAPP", "testapp")
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--listen", "127.0.0.1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("testapp not listening on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return testApp{addr: addr, log: &safeBuffer{lines: lines}}
}

// raw sends one HTTP/1.1 request as bytes and returns the status and body.
func raw(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, request)
	br := bufio.NewReader(c)
	var status int
	line, _ := br.ReadString('\n')
	fmt.Sscanf(line, "HTTP/1.1 %d", &status)
	length := 0
	for {
		h, _ := br.ReadString('\n')
		if h == "\r\n" || h == "" {
			break
		}
		fmt.Sscanf(strings.ToLower(h), "content-length: %d", &length)
	}
	body := make([]byte, length)
	io.ReadFull(br, body)
	return status, string(body)
}

type echoed struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Headers    map[string][]string `json:"headers"`
	RawHeaders [][2]string         `json:"rawHeaders"`
	BodyBytes  int64               `json:"bodyBytes"`
	BodySha256 string              `json:"bodySha256"`
}

func TestTestAppEchoesTheRawRequest(t *testing.T) {
	app := startTestApp(t)
	status, body := raw(t, app.addr, "GET /a/%2e%2e/b//c?x=1&y HTTP/1.1\r\nHost: app\r\n"+
		"X-Auth-Subject: alice\r\nx_auth_subject: mallory\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if e.Method != "GET" || e.Path != "/a/%2e%2e/b//c?x=1&y" {
		t.Fatalf("method %q path %q: want the request-target exactly as sent", e.Method, e.Path)
	}
	if got := e.Headers["x-auth-subject"]; len(got) != 1 || got[0] != "alice" {
		t.Fatalf("x-auth-subject = %v", got)
	}
	if got := e.Headers["x_auth_subject"]; len(got) != 1 || got[0] != "mallory" {
		t.Fatalf("x_auth_subject must stay apart from x-auth-subject, got %v", got)
	}
	if got := e.Headers["x-multi"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Fatalf("x-multi = %v, want both values in order", got)
	}
	if len(e.RawHeaders) != 5 || e.RawHeaders[2] != [2]string{"x_auth_subject", "mallory"} {
		t.Fatalf("rawHeaders = %v, want names as sent, in order", e.RawHeaders)
	}
	select {
	case line := <-app.log.lines:
		if !strings.Contains(line, `"listening"`) {
			t.Fatalf("first log line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log line")
	}
	select {
	case line := <-app.log.lines:
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["path"] != e.Path || entry["status"] != float64(200) {
			t.Fatalf("request log line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log line for the request")
	}
}

func TestTestAppReadsBodiesAndRefusesAmbiguousFraming(t *testing.T) {
	app := startTestApp(t)
	status, body := raw(t, app.addr, "POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	var e echoed
	json.Unmarshal([]byte(body), &e)
	if status != 200 || e.BodyBytes != 11 || e.BodySha256 != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" {
		t.Fatalf("chunked body: status %d, %d bytes, sha %s", status, e.BodyBytes, e.BodySha256)
	}
	status, _ = raw(t, app.addr, "POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	if status != 400 {
		t.Fatalf("Content-Length with Transfer-Encoding: status %d, want 400", status)
	}
	status, _ = raw(t, app.addr, "NONSENSE\r\n\r\n")
	if status != 400 {
		t.Fatalf("malformed request line: status %d, want 400", status)
	}
	status, body = raw(t, app.addr, "GET /healthz HTTP/1.1\r\nHost: app\r\n\r\n")
	if status != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", status, body)
	}
}

func runClient(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	bin := program(t, "TOKENGATE_IMAGE_CLIENT", "client")
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("client %v printed no JSON (%v): %s", args, err, out)
	}
	return doc, code
}

func TestClientGetSendsHeadersAndPrintsTheResponse(t *testing.T) {
	app := startTestApp(t)
	doc, code := runClient(t, "get", "-H", "Authorization: Bearer abc", "-H", "x_auth_subject: eve",
		"http://"+app.addr+"/orders/%2F1?q=2")
	if code != 0 || doc["status"] != float64(200) {
		t.Fatalf("exit %d, %v", code, doc)
	}
	echo := doc["json"].(map[string]any)
	if echo["path"] != "/orders/%2F1?q=2" {
		t.Fatalf("path at the app %v, want the raw target", echo["path"])
	}
	headers := echo["headers"].(map[string]any)
	if fmt.Sprint(headers["authorization"]) != "[Bearer abc]" || fmt.Sprint(headers["x_auth_subject"]) != "[eve]" {
		t.Fatalf("headers at the app: %v", headers)
	}
	if ct := fmt.Sprint(doc["headers"].(map[string]any)["Content-Type"]); ct != "[application/json]" {
		t.Fatalf("response headers: %v", doc["headers"])
	}

	doc, code = runClient(t, "get", "--timeout", "2s", fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)))
	if code != 1 || !strings.Contains(fmt.Sprint(doc["error"]), "refused") {
		t.Fatalf("closed port: exit %d, %v", code, doc)
	}
}

func TestClientBurstHoldsEveryConnection(t *testing.T) {
	app := startTestApp(t)
	doc, code := runClient(t, "burst", "-n", "200", "http://"+app.addr+"/burst")
	if code != 0 || doc["connected"] != float64(200) || fmt.Sprint(doc["statuses"]) != "map[200:200]" {
		t.Fatalf("exit %d, %v", code, doc)
	}
	doc, _ = runClient(t, "burst", "-n", "20", fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)))
	if doc["connected"] != float64(0) || fmt.Sprint(doc["errors"]) != "map[connect: connection refused:20]" {
		t.Fatalf("closed port: %v", doc)
	}
}

func TestClientLoadCountsFailures(t *testing.T) {
	app := startTestApp(t)
	doc, code := runClient(t, "load", "--rate", "40", "--duration", "1s", "http://"+app.addr+"/steady")
	sent := doc["sent"].(float64)
	if code != 0 || sent < 30 || doc["failures"] != float64(0) || fmt.Sprint(doc["statuses"]) != fmt.Sprintf("map[200:%v]", sent) {
		t.Fatalf("exit %d, %v", code, doc)
	}
	doc, _ = runClient(t, "load", "--rate", "20", "--duration", "500ms", "--expect", "401", "http://"+app.addr+"/steady")
	if doc["failures"] != doc["sent"] || len(doc["firstFailures"].([]any)) == 0 {
		t.Fatalf("every 200 should fail --expect 401: %v", doc)
	}
}

func TestPauseExitsOnSigterm(t *testing.T) {
	bin := program(t, "TOKENGATE_IMAGE_PAUSE", "pause")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(bin)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if cmd.ProcessState != nil {
			t.Fatal("pause exited before it was signalled")
		}
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("after %v: %v, want exit 0", sig, err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("pause still running 10 s after %v", sig)
		}
	}
}
