package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"pault.ag/go/debian/deb"

	"pkgbox/debian"
	"pkgbox/store"
)

// Repo is a chain's local repository: a directory under the store's tmp/
// (root's alone, with a held lock, so that gc removes it if pkgbox is
// killed), in which every Add makes a new generation, gen-N/: hard links to
// the .debs of all the sources built so far, and a flat repository's
// Packages and Release that pkgbox writes itself. A generation never
// changes once made, so a build that started with one sees one coherent
// repository while later sources add theirs. pkgbox made every file in it
// from artifacts it checked against their .changes, so builds use it with
// [trusted=yes].
type Repo struct {
	tmp *store.Temp
	mu  sync.Mutex
	// debs are the .debs in the pool (base names), gen the last
	// generation made (0: none yet).
	debs []string
	gen  int
}

// NewRepo makes an empty chain repository in the store.
func NewRepo(s *store.Store) (*Repo, error) {
	t, err := s.TempDir("chain")
	if err != nil {
		return nil, fmt.Errorf("create the chain's repository: %w", err)
	}
	if err := os.Mkdir(filepath.Join(t.Path, "pool"), 0o755); err != nil {
		t.Remove()
		return nil, fmt.Errorf("create the chain's repository: %w", err)
	}
	return &Repo{tmp: t}, nil
}

// Dir is the repository's directory.
func (r *Repo) Dir() string { return r.tmp.Path }

// Remove deletes the repository.
func (r *Repo) Remove() error { return r.tmp.Remove() }

// Line is the apt source line of the repository's current generation, or
// "" while it has none (no source has been built yet).
func (r *Repo) Line() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == 0 {
		return ""
	}
	return fmt.Sprintf("deb [trusted=yes] file://%s/gen-%d ./", r.tmp.Path, r.gen)
}

// Add puts the .debs that the .changes at changesPath lists (beside it)
// into the repository and makes a new generation. Each is opened without
// following a link and checked against the size and SHA-256 the .changes
// declares while it is copied: the output directory may belong to the
// user. It returns the base names added.
func (r *Repo) Add(changesPath string) ([]string, error) {
	dir, err := os.OpenFile(filepath.Dir(changesPath), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("add to the chain's repository: %w", err)
	}
	defer dir.Close()
	cf, err := debian.OpenRegular(dir, filepath.Base(changesPath), ".changes")
	if err != nil {
		return nil, err
	}
	ch, err := debian.ReadChanges(changesPath, cf)
	cf.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var added []string
	for _, f := range ch.Files {
		if !strings.HasSuffix(f.Name, ".deb") {
			continue
		}
		if slices.Contains(r.debs, f.Name) {
			return nil, fmt.Errorf("add %s to the chain's repository: it has one of that name already", f.Name)
		}
		if err := r.copyIn(dir, f); err != nil {
			return nil, err
		}
		r.debs = append(r.debs, f.Name)
		added = append(added, f.Name)
	}
	if err := r.makeGen(); err != nil {
		return nil, err
	}
	return added, nil
}

// copyIn copies the .deb f from dir into the pool, checking it.
func (r *Repo) copyIn(dir *os.File, f debian.ChangesFile) error {
	in, err := debian.OpenRegular(dir, f.Name, "package")
	if err != nil {
		return err
	}
	defer in.Close()
	return r.copyFile(in, f.Name, f.Size, f.SHA256)
}

// copyFile copies in into the pool as name; when sum is not "", it must
// have that SHA-256 and size.
func (r *Repo) copyFile(in *os.File, name string, size int64, sum string) (retErr error) {
	path := filepath.Join(r.tmp.Path, "pool", name)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("add %s to the local repository: %w", name, err)
	}
	defer func() {
		if cerr := out.Close(); retErr == nil && cerr != nil {
			retErr = fmt.Errorf("add %s to the local repository: %w", name, cerr)
		}
		if retErr != nil {
			os.Remove(path)
		}
	}()
	h := sha256.New()
	var src io.Reader = in
	if sum != "" {
		src = io.LimitReader(in, size+1)
	}
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err != nil {
		return fmt.Errorf("add %s to the local repository: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); sum != "" && (n != size || got != sum) {
		return fmt.Errorf("add %s to the local repository: %s is not what its .changes declares (size %d, SHA-256 %s; want %d, %s)",
			name, in.Name(), n, got, size, sum)
	}
	return nil
}

// AddDebs puts the .deb files debs (given by the user, each opened once
// without following a link) into the repository and makes a new
// generation: new packages, such as a library's new upload, that builds
// may then take from it to satisfy their build dependencies.
func (r *Repo) AddDebs(debs []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range debs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		dir, err := os.OpenFile(filepath.Dir(abs), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("add %s to the repository: %w", p, err)
		}
		name := filepath.Base(abs)
		in, err := debian.OpenRegular(dir, name, "package")
		dir.Close()
		if err != nil {
			return err
		}
		if !strings.HasSuffix(name, ".deb") || slices.Contains(r.debs, name) {
			in.Close()
			return fmt.Errorf("add %s to the repository: want .deb files of different names", p)
		}
		err = r.copyFile(in, name, 0, "")
		in.Close()
		if err != nil {
			return err
		}
		r.debs = append(r.debs, name)
	}
	return r.makeGen()
}

// makeGen makes the next generation: links to every .deb of the pool and
// their index. With r.mu held.
func (r *Repo) makeGen() (retErr error) {
	gen := r.gen + 1
	dir := filepath.Join(r.tmp.Path, fmt.Sprintf("gen-%d", gen))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("index the chain's repository: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(dir)
		}
	}()
	var files []File
	for _, name := range r.debs {
		p := filepath.Join(dir, name)
		if err := os.Link(filepath.Join(r.tmp.Path, "pool", name), p); err != nil {
			return fmt.Errorf("index the chain's repository: %w", err)
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("index the chain's repository: %w", err)
		}
		files = append(files, File{Name: name, R: f})
	}
	defer func() {
		for _, f := range files {
			f.R.(*os.File).Close()
		}
	}()
	packages, err := Packages(files)
	if err != nil {
		return err
	}
	release := Release(packages)
	for name, data := range map[string][]byte{"Packages": packages, "Release": release} {
		if err := store.WriteFileAtomic(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("index the chain's repository: %w", err)
		}
	}
	r.gen = gen
	return nil
}

// File is a .deb to index: its base name in the repository, and its
// contents.
type File struct {
	Name string
	R    interface {
		io.ReaderAt
		io.Reader
	}
}

// Packages is the Packages index of a flat repository holding files: for
// each .deb, the paragraph of its control file (read with
// pault.ag/go/debian/deb), with the Filename, Size and SHA256 apt needs.
func Packages(files []File) ([]byte, error) {
	var buf bytes.Buffer
	for _, f := range files {
		d, err := deb.Load(f.R, f.Name)
		if err != nil {
			return nil, fmt.Errorf("read the control data of %s: %w", f.Name, err)
		}
		d.Close()
		h := sha256.New()
		size, err := io.Copy(h, io.NewSectionReader(f.R, 0, 1<<62))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		p := d.Control.Paragraph
		p.Values = maps.Clone(p.Values)
		for k, v := range p.Values {
			// The library keeps a field's last newline, which WriteTo
			// would write as a line holding a space: to apt, the end of
			// the paragraph.
			p.Values[k] = strings.TrimRight(v, "\n")
		}
		p.Order = slices.Clone(p.Order)
		for _, k := range []string{"Filename", "Size", "MD5sum", "SHA1", "SHA256"} {
			p.Order = slices.DeleteFunc(p.Order, func(o string) bool { return o == k })
			delete(p.Values, k)
		}
		p.Set("Filename", "./"+f.Name)
		p.Set("Size", fmt.Sprint(size))
		p.Set("SHA256", hex.EncodeToString(h.Sum(nil)))
		if buf.Len() > 0 {
			buf.WriteByte('\n')
		}
		if err := p.WriteTo(&buf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// Release is the Release file of a flat repository whose index is
// packages: unsigned (builds trust the repository, which pkgbox made), with
// the index's SHA-256, which apt checks. Its Date is fixed (apt warns
// without one): the same .debs make the same file, so the lists a build's
// layer key hashes stay the same and a later chain that rebuilds them
// alike reuses its layers.
func Release(packages []byte) []byte {
	sum := sha256.Sum256(packages)
	return fmt.Appendf(nil, "Origin: pkgbox\nLabel: pkgbox chain\nDate: Thu, 01 Jan 1970 00:00:00 UTC\nSHA256:\n %s %d Packages\n",
		hex.EncodeToString(sum[:]), len(packages))
}
