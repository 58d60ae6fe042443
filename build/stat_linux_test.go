package build_test

import "syscall"

type syscallStat struct{ uid, gid uint32 }

func statOwner(path string, st *syscallStat) error {
	var s syscall.Stat_t
	if err := syscall.Stat(path, &s); err != nil {
		return err
	}
	st.uid, st.gid = s.Uid, s.Gid
	return nil
}
