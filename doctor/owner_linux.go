package doctor

import (
	"io/fs"
	"syscall"
)

// ownedByRoot says whether fi's file belongs to uid 0; a FileInfo without
// an owner (a test's fake) counts as root's.
func ownedByRoot(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Uid == 0
}

// owner is fi's file's uid, or -1 when fi does not say.
func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
