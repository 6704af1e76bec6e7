package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeImage(t *testing.T, img Image) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func testImage(t *testing.T) Image {
	self, err := os.ReadFile("/proc/self/exe") // the test binary: an ELF file at hand
	if err != nil {
		t.Fatal(err)
	}
	return Image{
		Tag: "tokengate.local/probe:1", Entrypoint: []string{"/probe"}, User: "65532:65532",
		Files: []File{{Path: "/probe", Mode: 0o755, Content: self}, {Path: "/tmp/", Mode: 0o1777}},
	}
}

func TestWriteThenLoadRoundTrips(t *testing.T) {
	img := testImage(t)
	l, err := Load(writeImage(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if l.Tag != img.Tag {
		t.Fatalf("tag %q, want %q", l.Tag, img.Tag)
	}
	p, e, err := l.Executable()
	if err != nil || p != "/probe" || !bytes.Equal(e.Content, img.Files[0].Content) {
		t.Fatalf("entrypoint %s (%v): content differs or missing", p, err)
	}
	if tmp := l.Files["/tmp"]; tmp == nil || tmp.Type != tar.TypeDir || tmp.Mode != 0o1777 {
		t.Fatalf("/tmp = %+v, want a 1777 directory", tmp)
	}
}

func TestWriteIsReproducible(t *testing.T) {
	img := testImage(t)
	a, _ := os.ReadFile(writeImage(t, img))
	b, _ := os.ReadFile(writeImage(t, img))
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same image differ")
	}
}

func TestLoadRefusesALayerThatDoesNotMatchItsDiffID(t *testing.T) {
	file := writeImage(t, testImage(t))
	data, _ := os.ReadFile(file)
	// Flip one byte inside the layer's content (the probe binary), keeping the tar readable.
	i := bytes.Index(data, []byte("\x7fELF"))
	if i < 0 {
		t.Fatal("no ELF header in the archive")
	}
	data[i+100] ^= 0xff
	os.WriteFile(file, data, 0o644)
	_, err := Load(file)
	if err == nil || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("Load of a corrupted layer: %v, want a digest mismatch", err)
	}
}

func TestVerifyNamesWhatIsWrong(t *testing.T) {
	img := testImage(t)
	file := writeImage(t, img)
	if err := Verify(file, "tokengate.local/probe:2", false); err == nil || !strings.Contains(err.Error(), "want tokengate.local/probe:2") {
		t.Fatalf("wrong tag: %v", err)
	}
	root := img
	root.User = "0:0"
	if err := Verify(writeImage(t, root), root.Tag, false); err == nil || !strings.Contains(err.Error(), "non-root") {
		t.Fatalf("root user: %v", err)
	}
	missing := img
	missing.Entrypoint = []string{"/nowhere"}
	if err := Verify(writeImage(t, missing), missing.Tag, false); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing entrypoint: %v", err)
	}
	noTmp := img
	noTmp.Files = img.Files[:1]
	if err := Verify(writeImage(t, noTmp), noTmp.Tag, false); err == nil || !strings.Contains(err.Error(), "/tmp") {
		t.Fatalf("no /tmp: %v", err)
	}
}

func TestCheckLinkingFindsAMissingLibraryAndLoader(t *testing.T) {
	ls, err := os.ReadFile("/bin/ls") // dynamically linked on every glibc distribution
	if err != nil {
		t.Skip("no /bin/ls on this host to use as a dynamically linked ELF file")
	}
	if static, _ := IsStatic(ls); static {
		t.Skip("/bin/ls is static on this host; nothing to resolve")
	}
	img := Image{Tag: "tokengate.local/ls:1", Entrypoint: []string{"/bin/ls"}, User: "1:1",
		Files: []File{{Path: "/bin/ls", Mode: 0o755, Content: ls}, {Path: "/tmp/", Mode: 0o1777}}}
	err = Verify(writeImage(t, img), img.Tag, false)
	if err == nil || !strings.Contains(err.Error(), "program interpreter") || !strings.Contains(err.Error(), "needs libc.so.6") {
		t.Fatalf("a dynamic binary without its libraries: %v", err)
	}
	if err := Verify(writeImage(t, img), img.Tag, true); err == nil || !strings.Contains(err.Error(), "not a static executable") {
		t.Fatalf("--static on a dynamic binary: %v", err)
	}
}
