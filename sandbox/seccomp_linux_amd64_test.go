package sandbox

import (
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the few classic BPF instructions filterProgram
// emits, on one seccomp_data, as the kernel would; readArg says whether
// the run read the call's argument.
func runFilter(t *testing.T, prog []unix.SockFilter, arch, nr uint32, arg0 uint64) (ret uint32, readArg bool) {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			switch ins.K {
			case offNr:
				a = nr
			case offArch:
				a = arch
			case offArg0:
				a = uint32(arg0)
				readArg = true
			default:
				t.Fatalf("load of offset %d", ins.K)
			}
		case unix.BPF_RET | unix.BPF_K:
			return ins.K, readArg
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var cond bool
			switch ins.Code & 0xf0 {
			case unix.BPF_JEQ:
				cond = a == ins.K
			case unix.BPF_JGE:
				cond = a >= ins.K
			case unix.BPF_JSET:
				cond = a&ins.K != 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		default:
			t.Fatalf("instruction %#x at %d", ins.Code, pc)
		}
	}
	t.Fatal("ran off the end of the filter")
	return 0, readArg
}

func TestFilterProgram(t *testing.T) {
	prog := filterProgram(filterABIs())
	x64, i386 := uint32(unix.AUDIT_ARCH_X86_64), uint32(unix.AUDIT_ARCH_I386)
	goFork := uint64(unix.CLONE_VFORK | unix.CLONE_VM | unix.CLONE_PIDFD | uint64(unix.SIGCHLD))
	for _, tc := range []struct {
		name     string
		arch, nr uint32
		arg0     uint64
		want     uint32
	}{
		{"read", x64, unix.SYS_READ, 0, retAllow},
		{"keyctl", x64, unix.SYS_KEYCTL, 0, retEPERM},
		{"mount", x64, unix.SYS_MOUNT, 0, retEPERM},
		{"x32 read", x64, 0x40000000, 0, retEPERM},
		{"x32 keyctl", x64, 0x40000000 | unix.SYS_KEYCTL, 0, retEPERM},
		{"i386 read", i386, 3, 0, retAllow},
		{"i386 keyctl", i386, 288, 0, retEPERM},
		{"i386 mount", i386, 21, 0, retEPERM},
		{"i386 clone newuser", i386, 120, unix.CLONE_NEWUSER, retEPERM},
		{"clone as Go forks", x64, unix.SYS_CLONE, goFork, retAllow},
		{"clone a thread", x64, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND | unix.CLONE_FS | unix.CLONE_FILES, retAllow},
		{"clone newuser", x64, unix.SYS_CLONE, unix.CLONE_NEWUSER | uint64(unix.SIGCHLD), retEPERM},
		{"clone newns", x64, unix.SYS_CLONE, unix.CLONE_NEWNS, retEPERM},
		{"clone3", x64, unix.SYS_CLONE3, 0, retENOSYS},
		{"personality linux32", x64, unix.SYS_PERSONALITY, 0x8, retAllow},
		{"personality query", x64, unix.SYS_PERSONALITY, 0xffffffff, retAllow},
		{"personality read-implies-exec", x64, unix.SYS_PERSONALITY, 0x0400000, retEPERM},
		{"i386 personality linux32", i386, 136, 0x8, retAllow},
		{"other arch", unix.AUDIT_ARCH_AARCH64, 0, 0, retEPERM},
	} {
		if got, _ := runFilter(t, prog, tc.arch, tc.nr, tc.arg0); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// The filter reads a call's argument only for clone and personality. For
// every other call its answer depends on the call's number and
// architecture alone, which is what lets the kernel's seccomp action cache
// answer for the allowed ones without running the filter: a build's
// millions of reads and writes then pay only seccomp's slower system call
// entry (BenchmarkFilter).
func TestFilterCacheable(t *testing.T) {
	prog := filterProgram(filterABIs())
	for _, a := range filterABIs() {
		var reads []uint32
		for nr := uint32(0); nr < 1024; nr++ {
			if nr == a.clone || nr == a.persona {
				continue
			}
			if _, readArg := runFilter(t, prog, a.arch, nr, 0); readArg {
				reads = append(reads, nr)
			}
		}
		if len(reads) > 0 {
			t.Errorf("arch %#x: the filter reads an argument of system calls %v, so the kernel cannot cache its answer for them and each such call runs the whole filter; if that is meant, add them to this test's exceptions", a.arch, reads)
		}
	}
}

// BenchmarkFilter times one cheap system call (getppid) with no filter,
// under a one-instruction filter that allows everything, and under
// pkgbox's, each on a thread of its own: the first two give what the
// kernel's entry path costs with and without seccomp, the third what the
// filter adds to it (nothing, while the action cache answers).
//
//	go test ./sandbox -run '^$' -bench Filter
func BenchmarkFilter(b *testing.B) {
	allowAll := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: retAllow}}
	for _, c := range []struct {
		name string
		prog []unix.SockFilter
	}{{"none", nil}, {"allow-all", allowAll}, {"pkgbox", filterProgram(filterABIs())}} {
		b.Run(c.name, func(b *testing.B) {
			done := make(chan error)
			go func() {
				// The thread keeps its filter and ends with this
				// goroutine: it is never unlocked.
				runtime.LockOSThread()
				if c.prog != nil {
					if err := loadFilterOnThread(c.prog); err != nil {
						done <- err
						return
					}
				}
				b.ResetTimer()
				for range b.N {
					unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
				}
				done <- nil
			}()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// loadFilterOnThread loads prog on the calling thread, with no_new_privs
// (which the kernel wants of a caller without CAP_SYS_ADMIN) set on that
// thread alone.
func loadFilterOnThread(prog []unix.SockFilter) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	return loadProgram(prog)
}

// The x86_64 numbers in filterABIs are the ones x/sys/unix knows.
func TestFilterNumbersAMD64(t *testing.T) {
	deny := filterABIs()[0].deny
	for name, nr := range map[string]uint32{
		"keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY, "request_key": unix.SYS_REQUEST_KEY,
		"bpf": unix.SYS_BPF, "perf_event_open": unix.SYS_PERF_EVENT_OPEN, "kexec_load": unix.SYS_KEXEC_LOAD,
		"kexec_file_load": unix.SYS_KEXEC_FILE_LOAD, "open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT,
		"init_module": unix.SYS_INIT_MODULE, "finit_module": unix.SYS_FINIT_MODULE, "delete_module": unix.SYS_DELETE_MODULE,
		"mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2, "pivot_root": unix.SYS_PIVOT_ROOT,
		"move_mount": unix.SYS_MOVE_MOUNT, "fsopen": unix.SYS_FSOPEN, "fsmount": unix.SYS_FSMOUNT,
		"fsconfig": unix.SYS_FSCONFIG, "fspick": unix.SYS_FSPICK, "open_tree": unix.SYS_OPEN_TREE,
		"mount_setattr": unix.SYS_MOUNT_SETATTR, "unshare": unix.SYS_UNSHARE, "setns": unix.SYS_SETNS,
		"userfaultfd": unix.SYS_USERFAULTFD, "iopl": unix.SYS_IOPL, "ioperm": unix.SYS_IOPERM,
		"swapon": unix.SYS_SWAPON, "swapoff": unix.SYS_SWAPOFF, "reboot": unix.SYS_REBOOT,
		"settimeofday": unix.SYS_SETTIMEOFDAY, "clock_settime": unix.SYS_CLOCK_SETTIME,
		"clock_adjtime": unix.SYS_CLOCK_ADJTIME, "acct": unix.SYS_ACCT, "quotactl": unix.SYS_QUOTACTL,
		"lookup_dcookie": unix.SYS_LOOKUP_DCOOKIE, "syslog": unix.SYS_SYSLOG,
		"io_uring_setup": unix.SYS_IO_URING_SETUP,
	} {
		if !slices.Contains(deny, nr) {
			t.Errorf("%s (%d) is not denied on x86_64", name, nr)
		}
	}
}
