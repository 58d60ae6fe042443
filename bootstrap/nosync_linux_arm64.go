package bootstrap

import "golang.org/x/sys/unix"

// noSyncABIs: aarch64 (arm64 has no 32-bit table pkgbox would meet).
func noSyncABIs() []noSyncABI {
	return []noSyncABI{{arch: unix.AUDIT_ARCH_AARCH64, nrs: []uint32{unix.SYS_SYNC, unix.SYS_SYNCFS, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNC_FILE_RANGE}}}
}
