package doctor

import "golang.org/x/sys/unix"

// fileCaps says whether path carries file capabilities.
func fileCaps(path string) bool {
	n, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && n > 0
}

// writable says whether this process may write to path.
func writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// statfs tells the free bytes (for an unprivileged writer) and type magic
// of the file system holding path.
func statfs(path string) (free uint64, fstype int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), int64(st.Type), nil
}
