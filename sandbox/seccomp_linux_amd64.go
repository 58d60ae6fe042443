package sandbox

import "golang.org/x/sys/unix"

// filterABIs are the system call tables of an x86_64 kernel: its own, and
// i386's, which any process can reach through int 0x80 and which i386
// roots use. Numbers are from asm/unistd_64.h and asm/unistd_32.h; the
// x86_64 ones are checked against x/sys/unix in a test.
func filterABIs() []abi {
	return []abi{
		{arch: unix.AUDIT_ARCH_X86_64, x32Guard: true, clone: 56, clone3: 435, persona: 135, deny: []uint32{
			250, 248, 249, // keyctl, add_key, request_key: the host's keyrings
			321, 298, // bpf, perf_event_open
			246, 320, // kexec_load, kexec_file_load
			175, 313, 176, 174, 177, 178, // init/finit/delete/create_module, get_kernel_syms, query_module
			304,           // open_by_handle_at: the shocker escape (Docker 2014)
			165, 166, 155, // mount, umount2, pivot_root
			428, 429, 430, 431, 432, 433, 442, 467, // open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr, open_tree_attr
			272, 308, // unshare, setns
			323,      // userfaultfd
			172, 173, // iopl, ioperm
			167, 168, 169, // swapon, swapoff, reboot
			164, 227, 305, // settimeofday, clock_settime, clock_adjtime
			163, 179, 443, // acct, quotactl, quotactl_fd
			212, 103, 134, 180, 156, // lookup_dcookie, syslog, uselib, nfsservctl, _sysctl
			425, 426, 427, // io_uring_setup, io_uring_enter, io_uring_register
		}},
		{arch: unix.AUDIT_ARCH_I386, clone: 120, clone3: 435, persona: 136, deny: []uint32{
			288, 286, 287, // keyctl, add_key, request_key
			357, 336, // bpf, perf_event_open
			283,                          // kexec_load
			128, 350, 129, 127, 130, 167, // init/finit/delete/create_module, get_kernel_syms, query_module
			342,             // open_by_handle_at
			21, 22, 52, 217, // mount, umount, umount2, pivot_root
			428, 429, 430, 431, 432, 433, 442, 467, // the new mount API, as on x86_64
			310, 346, // unshare, setns
			374,                // userfaultfd
			110, 101, 166, 113, // iopl, ioperm, vm86, vm86old
			87, 115, 88, // swapon, swapoff, reboot
			79, 25, 264, 404, 343, 405, // settimeofday, stime, clock_settime(64), clock_adjtime(64)
			51, 131, 443, // acct, quotactl, quotactl_fd
			253, 103, 86, 169, 149, // lookup_dcookie, syslog, uselib, nfsservctl, _sysctl
			425, 426, 427, // io_uring_*
		}},
	}
}
