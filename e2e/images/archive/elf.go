package archive

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"path"
	"sort"
	"strings"
)

// libraryDirs are where glibc's loader looks when neither RPATH nor RUNPATH names the library
// (Debian's multiarch directories included).
var libraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// IsStatic reports whether an ELF executable needs no loader and no shared library.
func IsStatic(content []byte) (bool, error) {
	f, err := elf.NewFile(bytes.NewReader(content))
	if err != nil {
		return false, fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	needed, _ := f.ImportedLibraries()
	return len(needed) == 0, nil
}

// CheckLinking checks every ELF file of the image: its program interpreter and every shared
// library it names resolve inside the image, through its RPATH/RUNPATH ($ORIGIN expanded) or
// the loader's default directories. It returns the number of ELF files checked.
func (l *Loaded) CheckLinking() (int, error) {
	var problems []string
	checked := 0
	for p, e := range l.Files {
		if e.Type != tar.TypeReg || !bytes.HasPrefix(e.Content, []byte("\x7fELF")) {
			continue
		}
		f, err := elf.NewFile(bytes.NewReader(e.Content))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		checked++
		for _, prog := range f.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			interp := make([]byte, prog.Filesz)
			prog.ReadAt(interp, 0)
			ip := strings.TrimRight(string(interp), "\x00")
			if _, ie, err := l.Resolve(ip); err != nil || ie.Type != tar.TypeReg {
				problems = append(problems, fmt.Sprintf("%s: program interpreter %s is missing", p, ip))
			}
		}
		needed, _ := f.ImportedLibraries()
		var search []string
		for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
			vals, _ := f.DynString(tag)
			for _, v := range vals {
				for _, dir := range strings.Split(v, ":") {
					search = append(search, strings.ReplaceAll(dir, "$ORIGIN", path.Dir(p)))
				}
			}
		}
		search = append(search, libraryDirs...)
		for _, lib := range needed {
			found := false
			for _, dir := range search {
				if _, le, err := l.Resolve(path.Join(dir, lib)); err == nil && le.Type == tar.TypeReg {
					found = true
					break
				}
			}
			// The JVM's own libraries find each other through the launcher's LD paths set at
			// run time (lib/server/libjvm.so from lib/), so look beside the JVM too.
			if !found && strings.Contains(p, "/lib/") {
				for _, dir := range []string{path.Dir(p), path.Join(path.Dir(p), ".."), path.Join(path.Dir(p), "server")} {
					if _, le, err := l.Resolve(path.Join(dir, lib)); err == nil && le.Type == tar.TypeReg {
						found = true
						break
					}
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("%s needs %s, not found in %v", p, lib, search))
			}
		}
		f.Close()
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return checked, fmt.Errorf("image %s: %d unresolved links:\n  %s", l.Tag, len(problems), strings.Join(problems, "\n  "))
	}
	return checked, nil
}
