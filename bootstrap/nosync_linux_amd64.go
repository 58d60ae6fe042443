package bootstrap

import "golang.org/x/sys/unix"

// x32Bit marks the x32 ABI's numbers, which share AUDIT_ARCH_X86_64.
const x32Bit = 0x40000000

// noSyncABIs: x86_64 and x32, and i386 (a --arch i386 root on this host);
// the i386 numbers are those of asm/unistd_32.h.
func noSyncABIs() []noSyncABI {
	native := []uint32{unix.SYS_SYNC, unix.SYS_SYNCFS, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNC_FILE_RANGE}
	nrs := append([]uint32(nil), native...)
	for _, nr := range native {
		nrs = append(nrs, nr|x32Bit)
	}
	return []noSyncABI{
		{arch: unix.AUDIT_ARCH_X86_64, nrs: nrs},
		{arch: unix.AUDIT_ARCH_I386, nrs: []uint32{36, 344, 118, 148, 314}},
	}
}
