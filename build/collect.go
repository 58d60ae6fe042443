package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"pkgbox/debian"
)

// Artifact is one file a build produced, as copied to the output directory.
type Artifact struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// DefaultArtifactLimit caps the total size of one build's artifacts: far
// above what a real package makes (a whole kernel build's .debs and debug
// symbols stay well below it), far below a disk. The free space of the
// output directory's file system caps it further.
const DefaultArtifactLimit = 16 << 30

// artifactLimit is DefaultArtifactLimit, lowered by tests.
var artifactLimit int64 = DefaultArtifactLimit

// collect copies out of the session exactly what the .changes that
// dpkg-buildpackage wrote for this build lists, and that .changes. The
// build directory is the build's own: anything in it, the .changes
// included, may have been made to harm the host (issue 11, finding 5), so
// the .changes is found by the name dpkg-buildpackage gives it, never by
// looking at what is there; every name it lists must be a package file
// name; and each copy must match the size and SHA-256 it declares, read
// on the descriptor that is copied, stopping past the declared size.
func (b *builder) collect(ctx context.Context) error {
	dir, err := openBuildDir(b.sess.Upper())
	if err != nil {
		return err
	}
	defer dir.Close()
	return b.collectFrom(dir)
}

// collectFrom is collect from the build directory dir.
func (b *builder) collectFrom(dir *os.File) error {
	name := changesName(b.src, b.arch, b.req.Type)
	f, err := openArtifact(dir, name)
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%w (%s)", errNoChanges, name)
	}
	if err != nil {
		return err
	}
	changes, err := debian.ReadChanges(name, f)
	f.Close()
	if err != nil {
		return err
	}
	total := int64(len(changes.Data))
	for _, c := range changes.Files {
		if err := checkArtifactName(b.src.Name, c.Name); err != nil {
			return fmt.Errorf("%s: %w; pkgbox copies nothing of this build", name, err)
		}
		total += c.Size
	}
	if err := checkRoom(b.out, total); err != nil {
		return err
	}
	if !b.req.Overwrite {
		for _, n := range append(changesNames(changes), name) {
			if _, ok, _ := b.out.lstat(n); ok {
				return &ExistsError{Path: b.out.path(n)}
			}
		}
	}
	for _, c := range changes.Files {
		a, err := copyArtifact(dir, c, b.out, b.req.Overwrite)
		if err != nil {
			return err
		}
		b.addArtifact(a)
	}
	// The .changes last, from the very bytes that were checked.
	sum := sha256.Sum256(changes.Data)
	self := debian.ChangesFile{Name: name, Size: int64(len(changes.Data)), SHA256: hex.EncodeToString(sum[:])}
	a, err := writeArtifact(bytes.NewReader(changes.Data), self, b.out, b.req.Overwrite)
	if err != nil {
		return err
	}
	b.addArtifact(a)
	return nil
}

func (b *builder) addArtifact(a *Artifact) {
	b.res.Artifacts = append(b.res.Artifacts, *a)
	b.log.Printf("artifact %s (%d bytes, sha256 %s)", a.Path, a.Size, a.SHA256)
}

func changesNames(c *debian.Changes) []string {
	var names []string
	for _, f := range c.Files {
		names = append(names, f.Name)
	}
	return names
}

// changesName is the name dpkg-buildpackage gives the .changes of a build
// of type typ on arch: SOURCE_VERSION_ARCH.changes, where ARCH is "source"
// for a source-only build and "all" for one of Architecture: all packages
// only (dpkg-buildpackage's own rule).
func changesName(src *debian.Source, arch string, typ Type) string {
	switch typ {
	case Source:
		arch = "source"
	case BinaryAll:
		arch = "all"
	}
	return src.Name + "_" + src.VersionNoEpoch() + "_" + arch + ".changes"
}

// artifactName is what a file a .changes lists may be called:
// PACKAGE_VERSION[_ARCH].EXT, a Debian package name (no leading dot, no
// slash), a version without epoch, an architecture, and one of the
// extensions dpkg-genchanges lists. Binary packages have names of their
// own; source files, the .buildinfo and the .changes carry the source's.
// It is compiled on first use, not when every pkgbox process starts.
var artifactName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)_([A-Za-z0-9][A-Za-z0-9.+~-]*?)(?:_([a-z0-9][a-z0-9-]*))?\.(deb|udeb|ddeb|dsc|buildinfo|changes|diff\.gz|tar\.(?:gz|xz|bz2|lzma|zst)(?:\.asc)?)$`)
})

// checkArtifactName checks a name a build's .changes lists (of source src).
func checkArtifactName(src, name string) error {
	m := artifactName().FindStringSubmatch(name)
	bad := func(why string) error {
		return fmt.Errorf("it lists %q, which is not %s", name, why)
	}
	if m == nil {
		return bad("a Debian package file name (PACKAGE_VERSION[_ARCH] and .deb, .udeb, .ddeb, .dsc, .tar.*, .diff.gz, .buildinfo)")
	}
	pkg, arch, ext := m[1], m[3], m[4]
	switch ext {
	case "deb", "udeb", "ddeb":
		if arch == "" {
			return bad("a binary package file name (PACKAGE_VERSION_ARCH." + ext + ")")
		}
	case "dsc", "diff.gz":
		if pkg != src || arch != "" {
			return bad("a file of source package " + src)
		}
	case "buildinfo", "changes":
		if pkg != src || arch == "" {
			return bad("a file of source package " + src)
		}
	}
	return nil
}

// checkRoom refuses a build whose artifacts would not fit: more than
// artifactLimit in all, or more than the output directory has free.
func checkRoom(out *output, total int64) error {
	if total > artifactLimit {
		return fmt.Errorf("the build's artifacts would take %s, more than pkgbox copies out of one build (%s)", FormatSize(total), FormatSize(artifactLimit))
	}
	if free, err := out.free(); err == nil && total > free {
		return fmt.Errorf("the build's artifacts need %d bytes, but the output directory %s has %d free", total, out.Path, free)
	}
	return nil
}

// openBuildDir opens the session's /build directory from the host side, in
// the overlay's upper layer, without following symlinks: everything in it
// was made by the build and is untrusted.
func openBuildDir(upper string) (*os.File, error) {
	up, err := os.OpenFile(upper, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	fd, err := unix.Openat(int(up.Fd()), "build", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the build directory: %w", err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(upper, "build")), nil
}

// openArtifact opens name in dir for reading: a bare base name, a regular
// file, never through a symlink (a build could plant /build/x.deb -> /etc/shadow).
func openArtifact(dir *os.File, name string) (*os.File, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("artifact name %q is not a plain file name", name)
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open artifact %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("artifact %q is not a regular file", name)
	}
	return f, nil
}

// copyArtifact copies the file c names from the build directory to out.
func copyArtifact(dir *os.File, c debian.ChangesFile, out *output, overwrite bool) (*Artifact, error) {
	src, err := openArtifact(dir, c.Name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return writeArtifact(src, c, out, overwrite)
}

// writeArtifact writes what r holds to out as c.Name, checked against c's
// size and SHA-256. It reads at most one byte past the declared size: a
// file larger than its .changes says is refused, not copied whole.
func writeArtifact(r io.Reader, c debian.ChangesFile, out *output, overwrite bool) (*Artifact, error) {
	h := sha256.New()
	var n int64
	err := out.writeFile(c.Name, overwrite, func(dst *os.File) error {
		var err error
		n, err = io.Copy(io.MultiWriter(dst, h), io.LimitReader(r, c.Size+1))
		if err != nil {
			return err
		}
		if n != c.Size {
			return &MismatchError{Name: c.Name, What: "size", Want: fmt.Sprintf("%d bytes", c.Size), Got: sizeGot(n, c.Size)}
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != c.SHA256 {
			return &MismatchError{Name: c.Name, What: "sha256", Want: c.SHA256, Got: got}
		}
		return nil
	})
	var me *MismatchError
	var ee *ExistsError
	if err != nil && !errors.As(err, &me) && !errors.As(err, &ee) {
		err = fmt.Errorf("copy %s: %w", c.Name, err)
	}
	if err != nil {
		return nil, err
	}
	return &Artifact{Path: out.path(c.Name), Size: n, SHA256: c.SHA256}, nil
}

func sizeGot(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d bytes", want)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MismatchError says an artifact is not what the build's .changes
// declares: a build that lies about its files gets none of them copied.
type MismatchError struct {
	Name, What, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("artifact %s: the build's .changes declares %s %s, but it has %s; pkgbox does not copy it", e.Name, e.What, e.Want, e.Got)
}

// ExistsError says an artifact would replace a file already in the output
// directory.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exists; pkgbox does not replace it", e.Path)
}

// Hint says what to do.
func (e *ExistsError) Hint() string { return "remove it, choose another --out, or pass --overwrite" }

// invokingUser is the user who ran sudo, who should own the artifacts, or
// (-1, -1) to leave them to root.
func invokingUser() (int, int) {
	var uid, gid int
	if _, err := fmt.Sscan(os.Getenv("SUDO_UID"), &uid); err != nil || uid == 0 {
		return -1, -1
	}
	if _, err := fmt.Sscan(os.Getenv("SUDO_GID"), &gid); err != nil {
		gid = uid
	}
	return uid, gid
}

var errNoChanges = errors.New("the build made no .changes file")
