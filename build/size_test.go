package build_test

import (
	"math"
	"testing"

	"pkgbox/build"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string // "" = no error
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"512K", 512 << 10, ""},
		{"512k", 512 << 10, ""},
		{"256M", 256 << 20, ""},
		{"4G", 4 << 30, ""},
		{"2T", 2 << 40, ""},
		{" 4g ", 4 << 30, ""},
		{"9223372036854775807", math.MaxInt64, ""},
		{"8388607T", 8388607 << 40, ""}, // the largest whole T in int64
		{"8388608T", 0, `size "8388608T" is too large: at most 8388607T (2^63-1 bytes)`},
		{"16777216T", 0, `size "16777216T" is too large: at most 8388607T (2^63-1 bytes)`},
		{"8589934592G", 0, `size "8589934592G" is too large: at most 8589934591G (2^63-1 bytes)`},
		{"9223372036854775808", 0, `size "9223372036854775808" is too large: at most 9223372036854775807 (2^63-1 bytes)`},
		{"99999999999999999999K", 0, `size "99999999999999999999K" is too large: at most 9007199254740991K (2^63-1 bytes)`},
		{"-1", 0, `size "-1": want a number of bytes, or one with K, M, G or T`},
		{"-99999999999999999999", 0, `size "-99999999999999999999": want a number of bytes, or one with K, M, G or T`},
		{"-4G", 0, `size "-4G": want a number of bytes, or one with K, M, G or T`},
		{"", 0, `size "": want a number of bytes, or one with K, M, G or T`},
		{"G", 0, `size "G": want a number of bytes, or one with K, M, G or T`},
		{"4X", 0, `size "4X": want a number of bytes, or one with K, M, G or T`},
		{"1.5G", 0, `size "1.5G": want a number of bytes, or one with K, M, G or T`},
		{"4GB", 0, `size "4GB": want a number of bytes, or one with K, M, G or T`},
	}
	for _, tt := range tests {
		got, err := build.ParseSize(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseSize(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// FormatSize writes what ParseSize reads back.
func TestFormatSizeRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 1023, 1 << 10, 3 << 20, 5 << 30, 3<<30 + 1<<20, math.MaxInt64} {
		got, err := build.ParseSize(build.FormatSize(n))
		if err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v", n, build.FormatSize(n), got, err)
		}
	}
}
