package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Artifact is one file a build produced, as copied to the output directory.
type Artifact struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
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

// copyArtifacts copies names from the build directory to out, refusing to
// replace an existing file unless overwrite, and gives them to owner (uid,
// gid; -1 keeps root). Files are written under a temporary name and renamed,
// so out never holds half an artifact.
func copyArtifacts(dir *os.File, names []string, out string, overwrite bool, uid, gid int) ([]Artifact, error) {
	if !overwrite {
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(out, n)); err == nil {
				return nil, &ExistsError{Path: filepath.Join(out, n)}
			}
		}
	}
	var arts []Artifact
	for _, n := range names {
		a, err := copyArtifact(dir, n, out, uid, gid)
		if err != nil {
			return arts, err
		}
		arts = append(arts, *a)
	}
	return arts, nil
}

func copyArtifact(dir *os.File, name, out string, uid, gid int) (_ *Artifact, retErr error) {
	src, err := openArtifact(dir, name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := os.CreateTemp(out, "."+name+".pkgbox-*")
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			dst.Close()
			os.Remove(dst.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", name, err)
	}
	if err := dst.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("copy %s: %w", name, err)
	}
	if uid >= 0 {
		if err := dst.Chown(uid, gid); err != nil {
			return nil, fmt.Errorf("copy %s: %w", name, err)
		}
	}
	if err := dst.Close(); err != nil {
		return nil, fmt.Errorf("copy %s: %w", name, err)
	}
	path := filepath.Join(out, name)
	if err := os.Rename(dst.Name(), path); err != nil {
		return nil, fmt.Errorf("copy %s: %w", name, err)
	}
	return &Artifact{Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
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
