// Package confine keeps the files Sluice opens on behalf of its users
// (FILE inputs, slates, local pipeline folders) inside the media directory
// and the folders the operator allows with --media-allow. Every open goes
// through an os.Root, so neither "..", an absolute path nor a symbolic link
// leads out of the allowed folders; a link is followed only when its target
// is inside one of them. What is opened is an open file or folder, not a
// path: whoever reads it next (ffmpeg included) reads what was checked.
package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Errors of Open and OpenDir. ErrOutside is the same whether or not
// something exists at the path: it tells nothing about the files outside.
var (
	ErrOutside    = errors.New("not inside the media directory or a folder allowed with --media-allow")
	ErrNotFound   = errors.New("no such file")
	ErrNotRegular = errors.New("not a regular file")
)

// Roots are the media directory, where relative paths point, and the
// other folders absolute paths may name.
type Roots struct {
	media   string
	allowed []string
}

// New returns the roots: media (relative paths are under it) and the
// folders of --media-allow. Every folder is made absolute and clean.
func New(media string, allowed []string) (*Roots, error) {
	m, err := filepath.Abs(media)
	if err != nil {
		return nil, err
	}
	r := &Roots{media: m}
	for _, a := range allowed {
		if !filepath.IsAbs(a) {
			return nil, fmt.Errorf("--media-allow %q: give an absolute folder", a)
		}
		r.allowed = append(r.allowed, filepath.Clean(a))
	}
	return r, nil
}

// Media returns the media directory.
func (r *Roots) Media() string { return r.media }

// all lists every root, the media directory first.
func (r *Roots) all() []string { return append([]string{r.media}, r.allowed...) }

// locate finds the root a path names, by its letters alone (nothing is
// looked up, so the answer tells nothing about what exists): a relative
// path is under the media directory and may not climb out of it; an
// absolute one must be inside a root.
func (r *Roots) locate(raw string) (root, rel string, err error) {
	p := filepath.FromSlash(raw)
	if !filepath.IsAbs(p) {
		if !filepath.IsLocal(p) {
			return "", "", fmt.Errorf("%s: %w", raw, ErrOutside)
		}
		return r.media, filepath.Clean(p), nil
	}
	p = filepath.Clean(p)
	for _, root := range r.all() {
		if rel, ok := within(root, p); ok {
			return root, rel, nil
		}
	}
	return "", "", fmt.Errorf("%s: %w", raw, ErrOutside)
}

// within returns p relative to root when p is root or inside it.
func within(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", false
	}
	return rel, true
}

// Check says whether a path names a place inside the roots, by its letters
// alone: for validating a resource before anything is opened.
func (r *Roots) Check(raw string) error {
	_, _, err := r.locate(raw)
	return err
}

// Open opens a regular file for reading. A symbolic link is followed when
// its target is inside one of the roots; any other way out is ErrOutside.
func (r *Roots) Open(raw string) (*os.File, error) {
	root, rel, err := r.locate(raw)
	if err != nil {
		return nil, err
	}
	f, err := openIn(root, rel)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// os.Root refuses every link that leads out of its folder, also
		// one into another root (or back into its own by an absolute
		// target): follow the link here, and open the target through the
		// root it is in, if any. The answer for a target outside every
		// root is ErrOutside, whether it exists or not.
		root, rel, err = r.follow(raw, root, rel)
		if err != nil {
			return nil, err
		}
		f, err = openIn(root, rel)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", raw, ErrOutside)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, ErrNotFound)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", raw, ErrNotRegular)
	}
	return f, nil
}

// OpenDir opens a folder as an os.Root, creating it first when create is
// set, by the same rules as Open. Everything opened through the returned
// root stays inside it.
func (r *Roots) OpenDir(raw string, create bool) (*os.Root, error) {
	root, rel, err := r.locate(raw)
	if err != nil {
		return nil, err
	}
	d, err := openDirIn(root, rel, create)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		root, rel, err = r.follow(raw, root, rel)
		if err != nil {
			return nil, err
		}
		d, err = openDirIn(root, rel, create)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", raw, ErrOutside)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, ErrNotFound)
	}
	return d, nil
}

// follow resolves the links of root/rel and returns the root the target is
// inside and the target relative to it; ErrOutside when there is none or
// the path cannot be resolved (a dangling link says nothing either).
func (r *Roots) follow(raw, root, rel string) (string, string, error) {
	target, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", raw, ErrOutside)
	}
	for _, candidate := range r.all() {
		real, err := filepath.EvalSymlinks(candidate)
		if err != nil {
			continue
		}
		if rel, ok := within(real, target); ok {
			return real, rel, nil
		}
	}
	return "", "", fmt.Errorf("%s: %w", raw, ErrOutside)
}

func openIn(root, rel string) (*os.File, error) {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	return rt.Open(rel)
}

func openDirIn(root, rel string, create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(root, 0o750); err != nil {
			return nil, err
		}
	}
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	if create && rel != "." {
		if err := rt.MkdirAll(rel, 0o750); err != nil {
			return nil, err
		}
	}
	return rt.OpenRoot(rel)
}

// Describe names the roots in words, for the log at start.
func (r *Roots) Describe() string {
	if len(r.allowed) == 0 {
		return r.media
	}
	return r.media + " and " + strings.Join(r.allowed, ", ")
}
