package bootstrap

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// debootstrap's processes run with sync, syncfs, fsync, fdatasync and
// sync_file_range turned into no-ops that succeed, as systemd-nspawn's
// --suppress-sync and eatmydata do. A root being made is thrown away whole
// if anything goes wrong, so per-file durability buys it nothing, and dpkg
// syncs a great deal that --force-unsafe-io (see unsafeIOConf) leaves
// alone: its status database after every change of every package (the
// updates/ journal, status, the .list files). eatmydata would need its
// library inside the root being made, in a build for the root's own libc;
// a seccomp filter reaches every process debootstrap starts, chroot or
// not, whatever the suite. Create syncs the finished root once instead.

// noSyncABI is one system call table the filter knows.
type noSyncABI struct {
	arch uint32   // AUDIT_ARCH_*
	nrs  []uint32 // the sync calls' numbers
}

// noSyncProgram answers the sync calls of abis with 0 and lets every
// other call (and every other architecture) through: a call the filter
// does not know only costs time.
func noSyncProgram(abis []noSyncABI) []unix.SockFilter {
	var p []unix.SockFilter
	stmt := func(code uint16, k uint32) { p = append(p, unix.SockFilter{Code: code, K: k}) }
	for _, a := range abis {
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch)
		// Skip the block when the arch differs: 1 load, 2 per number.
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: a.arch, Jf: uint8(1 + 2*len(a.nrs))})
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
		for _, nr := range a.nrs {
			p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: nr, Jf: 1})
			stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ERRNO|0)
		}
	}
	stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW)
	return p
}

// seccomp_data offsets (linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
)

// suppressSync installs the no-sync filter on the calling thread only (no
// TSYNC): the caller locks its goroutine to the thread, starts debootstrap
// from it, which inherits the filter, and lets the thread die with the
// goroutine. As root, the kernel needs no no_new_privs for it.
func suppressSync() error {
	abis := noSyncABIs()
	if len(abis) == 0 {
		return nil
	}
	prog := noSyncProgram(abis)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("suppress sync calls: %w", errno)
	}
	return nil
}
