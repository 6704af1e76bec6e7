// Package archive writes and checks docker-archive image tarballs (the format of `docker save`,
// of Jib's buildTar and of what `ctr images import` loads), without a Docker engine.
//
// A tarball holds manifest.json ([{Config, RepoTags, Layers}]), the image config (whose
// rootfs.diff_ids are the sha256 of each uncompressed layer) and the layer tars, plain or
// gzipped.
package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Image is a single-layer image built from files.
type Image struct {
	Tag        string            // repository:tag, e.g. tokengate.local/pause:3.10
	Entrypoint []string          // absolute path first
	Cmd        []string          // default arguments
	User       string            // uid:gid
	Env        []string          // NAME=value
	Labels     map[string]string // OCI annotations of the config
	Files      []File
}

// File is one entry of the layer. Directories end with "/".
type File struct {
	Path    string // absolute, e.g. /pause or /tmp/
	Mode    int64
	Content []byte
}

// Config is the subset of the image config this package writes and reads.
type Config struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Created      string `json:"created"`
	Config       struct {
		Entrypoint   []string            `json:"Entrypoint,omitempty"`
		Cmd          []string            `json:"Cmd,omitempty"`
		Env          []string            `json:"Env,omitempty"`
		User         string              `json:"User,omitempty"`
		WorkingDir   string              `json:"WorkingDir,omitempty"`
		Labels       map[string]string   `json:"Labels,omitempty"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// ManifestEntry is one element of manifest.json.
type ManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// epoch keeps the output byte-for-byte reproducible.
var epoch = time.Unix(1, 0).UTC()

// Write writes img as a docker-archive tarball to w.
func Write(w io.Writer, img Image) error {
	if !strings.Contains(img.Tag, ":") || strings.HasPrefix(img.Tag, ":") {
		return fmt.Errorf("tag %q is not repository:tag", img.Tag)
	}
	if len(img.Entrypoint) == 0 || !path.IsAbs(img.Entrypoint[0]) {
		return fmt.Errorf("entrypoint %q must start with an absolute path", img.Entrypoint)
	}
	layer, err := layerTar(img.Files)
	if err != nil {
		return err
	}
	diffID := sha256.Sum256(layer)
	layerName := hex.EncodeToString(diffID[:]) + ".tar"

	var cfg Config
	cfg.Architecture, cfg.OS, cfg.Created = "amd64", "linux", epoch.Format(time.RFC3339)
	cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.User = img.Entrypoint, img.Cmd, img.User
	cfg.Config.Env, cfg.Config.WorkingDir, cfg.Config.Labels = img.Env, "/", img.Labels
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{"sha256:" + hex.EncodeToString(diffID[:])}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	manifest, err := json.Marshal([]ManifestEntry{{Config: cfgName, RepoTags: []string{img.Tag}, Layers: []string{layerName}}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName, cfgJSON}, {layerName, layer}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

func layerTar(files []File) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("layer path %q is not absolute", f.Path)
		}
		h := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, ModTime: epoch, Format: tar.FormatPAX}
		if strings.HasSuffix(f.Path, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Entry is a file of the image's merged filesystem.
type Entry struct {
	Mode     int64
	Type     byte
	Linkname string
	Content  []byte // regular files only
}

// Loaded is a checked image: its tag, config and merged filesystem (later layers win; no
// whiteouts are expected in the images this project builds, and one is reported).
type Loaded struct {
	Tag    string
	Config Config
	Files  map[string]*Entry // absolute paths, no trailing slash
}

// Load reads a docker-archive tarball and checks that it is consistent: one manifest entry with
// one tag, a config that parses, as many diff_ids as layers, every layer present and hashing to
// its diff_id once uncompressed.
func Load(file string) (*Loaded, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	members := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a tar archive: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		members[path.Clean(h.Name)] = data
	}
	var manifest []ManifestEntry
	if err := json.Unmarshal(members["manifest.json"], &manifest); err != nil {
		return nil, fmt.Errorf("%s: manifest.json missing or invalid: %w", file, err)
	}
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 {
		return nil, fmt.Errorf("%s: want one image with one tag, manifest.json has %+v", file, manifest)
	}
	m := manifest[0]
	out := &Loaded{Tag: m.RepoTags[0], Files: map[string]*Entry{}}
	cfgJSON, ok := members[path.Clean(m.Config)]
	if !ok {
		return nil, fmt.Errorf("%s: config %s named in manifest.json is missing", file, m.Config)
	}
	if err := json.Unmarshal(cfgJSON, &out.Config); err != nil {
		return nil, fmt.Errorf("%s: config %s: %w", file, m.Config, err)
	}
	if out.Config.OS != "linux" || out.Config.Architecture != "amd64" {
		return nil, fmt.Errorf("%s: platform %s/%s, want linux/amd64", file, out.Config.OS, out.Config.Architecture)
	}
	if len(out.Config.RootFS.DiffIDs) != len(m.Layers) || len(m.Layers) == 0 {
		return nil, fmt.Errorf("%s: %d layers but %d diff_ids", file, len(m.Layers), len(out.Config.RootFS.DiffIDs))
	}
	for i, name := range m.Layers {
		data, ok := members[path.Clean(name)]
		if !ok {
			return nil, fmt.Errorf("%s: layer %s named in manifest.json is missing", file, name)
		}
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("%s: layer %s: %w", file, name, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("%s: layer %s: %w", file, name, err)
			}
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != out.Config.RootFS.DiffIDs[i] {
			return nil, fmt.Errorf("%s: layer %s hashes to %s, config says %s", file, name, got, out.Config.RootFS.DiffIDs[i])
		}
		if err := out.apply(data); err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", file, name, err)
		}
	}
	return out, nil
}

func (l *Loaded) apply(layer []byte) error {
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + h.Name)
		if strings.HasPrefix(path.Base(p), ".wh.") {
			return fmt.Errorf("whiteout %s: not expected in these images", p)
		}
		e := &Entry{Mode: h.Mode, Type: h.Typeflag, Linkname: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			if e.Content, err = io.ReadAll(tr); err != nil {
				return err
			}
		}
		l.Files[p] = e
	}
}

// Resolve follows symbolic and hard links inside the image's filesystem.
func (l *Loaded) Resolve(p string) (string, *Entry, error) {
	for i := 0; i < 40; i++ {
		e, ok := l.Files[p]
		if !ok {
			// A parent may be a symlink (merged /usr: /lib -> usr/lib).
			dir, base := path.Split(p)
			if dir == "/" || dir == "" {
				return p, nil, fmt.Errorf("%s: no such file in the image", p)
			}
			rdir, de, err := l.Resolve(path.Clean(dir))
			if err != nil || de == nil || de.Type != tar.TypeDir {
				return p, nil, fmt.Errorf("%s: no such file in the image", p)
			}
			if rdir == path.Clean(dir) {
				return p, nil, fmt.Errorf("%s: no such file in the image", p)
			}
			p = path.Join(rdir, base)
			continue
		}
		switch e.Type {
		case tar.TypeSymlink:
			if path.IsAbs(e.Linkname) {
				p = path.Clean(e.Linkname)
			} else {
				p = path.Join(path.Dir(p), e.Linkname)
			}
		case tar.TypeLink:
			p = path.Clean("/" + e.Linkname)
		default:
			return p, e, nil
		}
	}
	return p, nil, fmt.Errorf("%s: too many levels of links", p)
}

// Executable resolves the entrypoint's program as the runtime would: an absolute path as is,
// a bare name through the config's PATH.
func (l *Loaded) Executable() (string, *Entry, error) {
	ep := append(append([]string(nil), l.Config.Config.Entrypoint...), l.Config.Config.Cmd...)
	if len(ep) == 0 {
		return "", nil, fmt.Errorf("image %s has neither Entrypoint nor Cmd", l.Tag)
	}
	prog := ep[0]
	candidates := []string{prog}
	if !strings.Contains(prog, "/") {
		candidates = nil
		for _, env := range l.Config.Config.Env {
			if v, ok := strings.CutPrefix(env, "PATH="); ok {
				for _, dir := range strings.Split(v, ":") {
					candidates = append(candidates, path.Join(dir, prog))
				}
			}
		}
	}
	for _, c := range candidates {
		if p, e, err := l.Resolve(c); err == nil && e.Type == tar.TypeReg {
			if e.Mode&0o111 == 0 {
				return p, e, fmt.Errorf("entrypoint %s is not executable (mode %o)", p, e.Mode)
			}
			return p, e, nil
		}
	}
	return "", nil, fmt.Errorf("image %s: entrypoint %q not found (tried %v)", l.Tag, prog, candidates)
}
