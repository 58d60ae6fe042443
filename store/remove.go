package store

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// RemoveTree deletes path and everything below it, like os.RemoveAll, but
// refuses to start when anything is mounted at or below path (the host's
// mountinfo says so), and never descends into another file system. Deleting
// through a forgotten bind mount is how chroot tools have erased home
// directories; this makes it impossible here.
func RemoveTree(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := checkUnmounted(abs); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", abs, err)
	}
	return removeTree(abs, st.Dev)
}

// checkUnmounted fails when anything is mounted at or below abs.
func checkUnmounted(abs string) error {
	mounts, err := MountsUnder(abs)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("refusing to delete %s: %s is mounted there; unmount it first", abs, mounts[0])
	}
	return nil
}

// RemoveForeign, when set, removes a tree that holds files the user
// running pkgbox may not unlink: in rootless mode, the files of the user's
// subordinate ids that sandboxes and debootstrap made. The command sets it
// (to sandbox.RemoveTree with the user's maps); the store itself never
// enters a namespace. It is tried only where removing as the user fails
// for want of permission.
var RemoveForeign func(path string) error

// removeTree deletes path and what is below it, never leaving the file
// system dev; the caller has checked that nothing is mounted there. What
// the user may not remove goes through RemoveForeign, when set.
func removeTree(path string, dev uint64) error {
	err := removeOwn(path, dev)
	if RemoveForeign != nil && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		return RemoveForeign(path)
	}
	return err
}

// removeOwn is removeTree with the user's own rights only.
func removeOwn(path string, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete %s: %w", path, err)
		}
		return nil
	}
	if st.Dev != dev {
		return fmt.Errorf("refusing to delete %s: it is on another file system", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	for _, e := range entries {
		if err := removeOwn(filepath.Join(path, e.Name()), dev); err != nil {
			return err
		}
	}
	if err := unix.Rmdir(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// MountsUnder lists the mount points in this process's mount namespace that
// are at or below dir.
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	return found, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for space and so on) that
// the kernel writes in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DiskUsage is the space the files under path take on its file system, as
// du(1) counts it: allocated blocks, hard links once, other file systems not
// entered.
func DiskUsage(path string) (int64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return 0, fmt.Errorf("measure %s: %w", path, err)
	}
	seen := map[[2]uint64]bool{}
	var total int64
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed meanwhile, or unreadable: skip it
		}
		var fst unix.Stat_t
		if unix.Lstat(p, &fst) != nil {
			return nil
		}
		if fst.Dev != st.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if fst.Nlink > 1 && !d.IsDir() {
			key := [2]uint64{fst.Dev, fst.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += fst.Blocks * 512
		return nil
	})
	return total, err
}
