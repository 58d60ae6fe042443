package bootstrap

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// qemuNames maps Debian's architecture names to the CPU names that
// qemu-user-static registers with binfmt_misc (as qemu-NAME).
var qemuNames = map[string]string{
	"amd64": "x86_64", "i386": "i386", "x32": "x86_64",
	"arm64": "aarch64", "armhf": "arm", "armel": "arm",
	"ppc64el": "ppc64le", "ppc64": "ppc64", "powerpc": "ppc",
	"s390x": "s390x", "riscv64": "riscv64", "loong64": "loongarch64",
	"mips64el": "mips64el", "mipsel": "mipsel",
	"alpha": "alpha", "hppa": "hppa", "m68k": "m68k", "sh4": "sh4", "sparc64": "sparc64",
}

// KnownArches lists the Debian architectures pkgbox can make roots for.
func KnownArches() []string {
	var a []string
	for k := range qemuNames {
		a = append(a, k)
	}
	sort.Strings(a)
	return a
}

// goArches maps Go's GOARCH to Debian's name, for hosts without dpkg.
var goArches = map[string]string{
	"amd64": "amd64", "386": "i386", "arm64": "arm64", "arm": "armhf",
	"ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64", "loong64": "loong64",
}

// HostArch is the host's Debian architecture: dpkg's answer, or Go's
// idea of it where there is no dpkg.
func HostArch() string {
	if out, err := exec.Command("dpkg", "--print-architecture").Output(); err == nil {
		if a := strings.TrimSpace(string(out)); a != "" {
			return a
		}
	}
	return goArches[runtime.GOARCH]
}

// nativeCompat lists the foreign architectures a host's kernel can usually
// run without emulation (when it was built with the compat layer).
var nativeCompat = map[string][]string{
	"amd64": {"i386", "x32"},
	"arm64": {"armhf", "armel"},
}

// ForeignArchError says that roots of Arch cannot run here.
type ForeignArchError struct {
	Arch, Host string
	Reason     string
}

func (e *ForeignArchError) Error() string {
	return fmt.Sprintf("cannot run %s programs on this %s host: %s", e.Arch, e.Host, e.Reason)
}

// Hint says what to install.
func (e *ForeignArchError) Hint() string {
	return "install qemu-user-static (which registers its emulators with binfmt_misc), then try again"
}

// checkArch tells whether roots of arch can run on a host of hostArch:
// debootstrap runs the root's programs in its second stage, so a foreign
// architecture needs an emulator registered with binfmt_misc. arch-test
// (which debootstrap itself uses when installed) gives the real answer by
// running a tiny program; without it, the binfmt_misc entries under
// binfmtDir are read.
func checkArch(ctx context.Context, arch, hostArch, binfmtDir, archTest string) error {
	if _, ok := qemuNames[arch]; !ok {
		return &UnknownArchError{Arch: arch}
	}
	if arch == hostArch {
		return nil
	}
	if archTest != "" {
		out, err := exec.CommandContext(ctx, archTest, arch).CombinedOutput()
		if err != nil {
			return &ForeignArchError{Arch: arch, Host: hostArch, Reason: "arch-test says " + strings.TrimSpace(string(out))}
		}
		return nil
	}
	for _, a := range nativeCompat[hostArch] {
		if a == arch {
			return nil
		}
	}
	return checkBinfmt(arch, hostArch, binfmtDir)
}

// checkBinfmt looks for an enabled qemu-NAME entry, with the F (fix binary)
// flag that lets the emulator work inside a chroot where it is not installed.
func checkBinfmt(arch, hostArch, binfmtDir string) error {
	if _, err := os.Stat(filepath.Join(binfmtDir, "status")); err != nil {
		return &ForeignArchError{Arch: arch, Host: hostArch, Reason: "binfmt_misc is not mounted at " + binfmtDir}
	}
	entry := filepath.Join(binfmtDir, "qemu-"+qemuNames[arch])
	data, err := os.ReadFile(entry)
	if err != nil {
		return &ForeignArchError{Arch: arch, Host: hostArch, Reason: "no emulator is registered (" + entry + " is missing)"}
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "enabled" {
		return &ForeignArchError{Arch: arch, Host: hostArch, Reason: entry + " is disabled"}
	}
	for _, l := range lines {
		if flags, ok := strings.CutPrefix(l, "flags: "); ok && strings.ContainsRune(flags, 'F') {
			return nil
		}
	}
	return &ForeignArchError{Arch: arch, Host: hostArch, Reason: entry + " lacks the F flag, so the emulator cannot run inside a root"}
}

// UnknownArchError is returned for an architecture name Debian does not use.
type UnknownArchError struct {
	Arch string
}

func (e *UnknownArchError) Error() string {
	return fmt.Sprintf("unknown architecture %q (known: %s)", e.Arch, strings.Join(KnownArches(), ", "))
}

// Hint says where the names come from.
func (e *UnknownArchError) Hint() string {
	return "use Debian's architecture name, as `dpkg --print-architecture` prints it"
}
