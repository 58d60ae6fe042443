package sandbox_test

import (
	"context"
	"testing"

	"pkgbox/sandbox"
)

// BenchmarkEntry measures a sandbox's entry and exit (/bin/true on an
// overlay session), confined as every sandbox is by default, and
// privileged, which skips the capability drop, the filter and the device
// cgroup: the difference is what confinement costs.
func BenchmarkEntry(b *testing.B) {
	for _, privileged := range []bool{false, true} {
		name := "confined"
		if privileged {
			name = "privileged"
		}
		b.Run(name, func(b *testing.B) {
			spec, _ := session(b, "/bin/true")
			spec.Privileged = privileged
			for b.Loop() {
				if _, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
