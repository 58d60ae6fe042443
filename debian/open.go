package debian

import (
	"crypto/md5"
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

// InputFile is a file of a source package, open. A build binds this very
// descriptor into its sandbox, the one that was checked, never the path
// again: a name swapped for a symlink meanwhile cannot bring another file
// in (issue 11, finding 6).
type InputFile struct {
	// Name is the file's base name.
	Name string
	File *os.File
}

// LinkError says a file pkgbox reads beside a source is a symbolic link.
// pkgbox runs as root: following it would read any file of the host on
// behalf of whoever could write that directory, and give it to the build.
type LinkError struct {
	Path string
	// What the file is to the source ("orig tarball", "listed file").
	What string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s %s is a symbolic link; pkgbox reads only regular files beside the source", e.What, e.Path)
}

// Hint says what to do.
func (e *LinkError) Hint() string {
	return fmt.Sprintf("put a copy of the file it points to in its place: cp --remove-destination \"$(readlink -f %s)\" %s", e.Path, e.Path)
}

// OpenRegular opens name in the directory dir (a descriptor) for reading:
// never through a symlink (a *LinkError naming what as the file's role),
// a regular file only, and without hanging on a FIFO.
func OpenRegular(dir *os.File, name, what string) (*os.File, error) {
	if err := checkBaseName(name); err != nil {
		return nil, err
	}
	path := filepath.Join(dir.Name(), name)
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, &LinkError{Path: path, What: what}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s %q: %w", what, name, err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s %q: %w", what, name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s %q is not a regular file", what, name)
	}
	return f, nil
}

// OpenDscFiles opens the .dsc of s and every file it lists, each once,
// without following symlinks, and checks each file's size, SHA-256 and MD5
// on the open descriptor. The .dsc is read again from its own descriptor
// and must still be the source and version s was read as. The .dsc comes
// first; the caller closes the files.
func (s *Source) OpenDscFiles() ([]InputFile, error) {
	if s.Dsc == "" {
		return nil, errors.New("open source files: not a .dsc source")
	}
	again, files, err := openDsc(s.Dsc, s.Dsc)
	if err != nil {
		return nil, err
	}
	if again.Name != s.Name || again.Version.String() != s.Version.String() {
		closeAll(files)
		return nil, fmt.Errorf("%s changed while pkgbox read it: now %s %s", s.Dsc, again.Name, again.Version)
	}
	return files, nil
}

// openDsc opens and reads the .dsc at path (abs is its absolute path) and
// opens and checks every file it lists, in the .dsc's directory, held open
// by one descriptor.
func openDsc(path, abs string) (_ *Source, _ []InputFile, retErr error) {
	dir, err := os.OpenFile(filepath.Dir(abs), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read source %q: %w", path, err)
	}
	defer dir.Close()
	var files []InputFile
	defer func() {
		if retErr != nil {
			closeAll(files)
		}
	}()
	dsc, err := OpenRegular(dir, filepath.Base(abs), ".dsc")
	if err != nil {
		var le *LinkError
		if errors.As(err, &le) {
			return nil, nil, err
		}
		return nil, nil, &FileError{File: path, Err: err}
	}
	files = append(files, InputFile{Name: filepath.Base(abs), File: dsc})
	data, err := readLimited(dsc)
	if err != nil {
		return nil, nil, &FileError{File: path, Err: fmt.Errorf("read: %w", err)}
	}
	s, entries, err := parseDsc(path, data)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		f, err := OpenRegular(dir, e.name, "listed file")
		if err != nil {
			var le *LinkError
			if errors.As(err, &le) {
				return nil, nil, err
			}
			return nil, nil, &FileError{File: path, Line: e.line, Err: err}
		}
		files = append(files, InputFile{Name: e.name, File: f})
		if line, err := verifyEntry(f, e); err != nil {
			return nil, nil, &FileError{File: path, Line: line, Err: err}
		}
		s.DscFiles = append(s.DscFiles, e.name)
	}
	s.Dsc = abs
	return s, files, nil
}

// verifyEntry checks that f, open, has e's size, SHA-256 and MD5. It
// returns the line of the entry at fault.
func verifyEntry(f *os.File, e dscEntry) (int, error) {
	hs, hm := sha256.New(), md5.New()
	// One byte past the declared size is enough to tell it is wrong.
	n, err := io.Copy(io.MultiWriter(hs, hm), io.LimitReader(f, e.size+1))
	if err != nil {
		return e.line, fmt.Errorf("read listed file %q: %w", e.name, err)
	}
	if n != e.size {
		got := fmt.Sprint(n)
		if n > e.size {
			got = "more"
		}
		return e.line, fmt.Errorf("size mismatch for %q: expected %d bytes, got %s", e.name, e.size, got)
	}
	if got := hex.EncodeToString(hs.Sum(nil)); got != e.sha256 {
		return e.line, fmt.Errorf("sha256 mismatch for %q: expected %s, got %s", e.name, e.sha256, got)
	}
	if got := hex.EncodeToString(hm.Sum(nil)); got != strings.ToLower(e.md5) {
		return e.md5Line, fmt.Errorf("md5 mismatch for %q: expected %s, got %s", e.name, e.md5, got)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return e.line, fmt.Errorf("read listed file %q: %w", e.name, err)
	}
	return 0, nil
}

func closeAll(files []InputFile) {
	for _, f := range files {
		f.File.Close()
	}
}
