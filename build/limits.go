package build

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FormatSize writes a byte count the way --memory reads it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprint(n)
}

// ParseSize reads a size such as 512M, 2G or 1048576 (bytes). A size that
// does not fit in an int64 is an error: it would wrap, to 0 (no limit) or
// below.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(s)
	suffix := ""
	if num != "" {
		switch suffix = strings.ToUpper(num[len(num)-1:]); suffix {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		case "T":
			mult = 1 << 40
		default:
			suffix = ""
		}
		num = num[:len(num)-len(suffix)]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err == nil && n > math.MaxInt64/mult || errors.Is(err, strconv.ErrRange) && n > 0 {
		return 0, fmt.Errorf("size %q is too large: at most %d%s (2^63-1 bytes)", s, math.MaxInt64/mult, suffix)
	}
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes, or one with K, M, G or T", s)
	}
	return n * mult, nil
}

// DefaultPids is the default process limit of a build: far above what a
// parallel build needs, far below what takes a machine down.
const DefaultPids = 8192

// DefaultMemory is the default memory limit of a build: three quarters of
// the machine's memory, so that a runaway build is stopped before the
// host's own processes are squeezed out. Zero when it cannot tell.
func DefaultMemory() int64 {
	// sysinfo(2)'s total is /proc/meminfo's MemTotal, without opening and
	// parsing a file in every pkgbox process, which registers this as a
	// flag's default (issue 12).
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return 0
	}
	unit := max(int64(si.Unit), 1)
	return int64(si.Totalram) * unit / 4 * 3 / (1 << 20) * (1 << 20) // whole MiB
}
