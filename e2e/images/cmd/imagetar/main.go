// Command imagetar builds a one-layer docker-archive image from a static binary, and checks any
// docker-archive tarball (this project's, or Jib's):
//
//	imagetar build  --tag REPO:TAG --binary FILE --name /NAME [--user 65532:65532] --out FILE.tar
//	imagetar verify --tag REPO:TAG [--static] FILE.tar
//
// verify checks the manifest, config and layer digests, the tag, that the entrypoint exists and
// is executable, that every ELF file's loader and libraries resolve inside the image, that the
// image runs as a non-root user and has a writable /tmp; with --static, that the entrypoint is
// a static executable. It exits 1 naming the first problem.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"

	"tokengate.local/e2e/images/archive"
)

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: imagetar build|verify [flags]")
	}
	switch os.Args[1] {
	case "build":
		build(os.Args[2:])
	case "verify":
		verify(os.Args[2:])
	default:
		fail(2, "unknown command %q: want build or verify", os.Args[1])
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imagetar: "+format+"\n", args...)
	os.Exit(code)
}

func build(args []string) {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	tag := fs.String("tag", "", "repository:tag")
	binary := fs.String("binary", "", "the static executable")
	name := fs.String("name", "", "its absolute path in the image, also the entrypoint")
	user := fs.String("user", "65532:65532", "uid:gid the image runs as")
	out := fs.String("out", "", "output tarball")
	fs.Parse(args)
	if *tag == "" || *binary == "" || *name == "" || *out == "" {
		fail(2, "build needs --tag, --binary, --name and --out")
	}
	content, err := os.ReadFile(*binary)
	if err != nil {
		fail(1, "%v", err)
	}
	if static, err := archive.IsStatic(content); err != nil || !static {
		fail(1, "%s is not a static executable (%v): build it with CGO_ENABLED=0", *binary, err)
	}
	uid, _, _ := strings.Cut(*user, ":")
	img := archive.Image{
		Tag:        *tag,
		Entrypoint: []string{*name},
		User:       *user,
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Labels:     map[string]string{"org.opencontainers.image.title": *tag},
		Files: []archive.File{
			{Path: *name, Mode: 0o755, Content: content},
			{Path: "/tmp/", Mode: 0o1777},
			{Path: "/etc/", Mode: 0o755},
			{Path: "/etc/passwd", Mode: 0o644, Content: []byte("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:" + uid + ":" + uid + ":nonroot:/tmp:/sbin/nologin\n")},
			{Path: "/etc/group", Mode: 0o644, Content: []byte("root:x:0:\nnonroot:x:" + uid + ":\n")},
		},
	}
	var buf bytes.Buffer
	if err := archive.Write(&buf, img); err != nil {
		fail(1, "%v", err)
	}
	tmp := *out + ".part"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		fail(1, "%v", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		fail(1, "%v", err)
	}
}

func verify(args []string) {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	tag := fs.String("tag", "", "the one tag the image must carry")
	static := fs.Bool("static", false, "the entrypoint must be a static executable")
	fs.Parse(args)
	if fs.NArg() != 1 || *tag == "" {
		fail(2, "verify needs --tag and one tarball")
	}
	if err := archive.Verify(fs.Arg(0), *tag, *static); err != nil {
		fail(1, "%v", err)
	}
	fmt.Fprintf(os.Stderr, "imagetar: %s ok (%s)\n", fs.Arg(0), *tag)
}
