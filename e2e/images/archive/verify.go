package archive

import (
	"archive/tar"
	"fmt"
	"strings"
)

// Verify loads a tarball and checks what a container runtime needs to start it as this project
// runs its pods: the tag, an executable entrypoint whose loader and libraries are all in the
// image (or a static one when static is set), a non-root numeric user, and a world-writable
// /tmp (the pods mount an emptyDir there, but the image must not depend on it).
func Verify(file, tag string, static bool) error {
	l, err := Load(file)
	if err != nil {
		return err
	}
	if l.Tag != tag {
		return fmt.Errorf("%s: tagged %s, want %s", file, l.Tag, tag)
	}
	prog, e, err := l.Executable()
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if static {
		ok, err := IsStatic(e.Content)
		if err != nil || !ok {
			return fmt.Errorf("%s: entrypoint %s is not a static executable (%v)", file, prog, err)
		}
	}
	user := l.Config.Config.User
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		return fmt.Errorf("%s: user %q: want a numeric non-root uid", file, user)
	}
	if _, t, err := l.Resolve("/tmp"); err != nil || t.Type != tar.TypeDir || t.Mode&0o777 != 0o777 {
		return fmt.Errorf("%s: /tmp missing or not world-writable", file)
	}
	if _, err := l.CheckLinking(); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
