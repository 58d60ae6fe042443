package profiles

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pkgbox/sandbox"
)

// FuzzParse checks what the rest of pkgbox relies on, whatever the input:
// Parse does not panic, its errors and warnings are one line starting
// "FILE:LINE: ", and every mount it yields passes the sandbox's own check,
// has a clean target with no "..", and is none of the mounts the sandbox
// makes itself.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/profiles/*.fstab")
	builtins, _ := filepath.Glob("builtin/*.fstab")
	for _, name := range append(files, builtins...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, tt := range badLines {
		f.Add(tt.in)
	}
	at := regexp.MustCompile(`^f\.fstab:[1-9][0-9]*: [^\n]+$`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse("f.fstab", strings.NewReader(in))
		if err != nil {
			if !at.MatchString(err.Error()) {
				t.Fatalf("error %q is not one line starting f.fstab:LINE: ", err)
			}
			return
		}
		for _, w := range p.Warnings {
			if !at.MatchString(w) {
				t.Errorf("warning %q is not one line starting f.fstab:LINE: ", w)
			}
		}
		if p.Text != in {
			t.Errorf("Text is not the input")
		}
		for _, network := range []bool{false, true} {
			for _, m := range p.Mounts(network) {
				checkMount(t, m)
			}
		}
	})
}

func checkMount(t *testing.T, m sandbox.Mount) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Errorf("mount fails Validate: %v", err)
	}
	if !regexp.MustCompile(`^f\.fstab:[1-9][0-9]*$`).MatchString(m.Origin) {
		t.Errorf("mount on %q has origin %q", m.Target, m.Origin)
	}
	for _, c := range strings.Split(m.Target, "/") {
		if c == ".." {
			t.Errorf("%s: target %q has a \"..\" component", m.Origin, m.Target)
		}
	}
	if m.Target == "/" || filepath.Clean(m.Target) != m.Target {
		t.Errorf("%s: target %q is the root or not clean", m.Origin, m.Target)
	}
	if own := ownTarget(m.Target); own != "" {
		t.Errorf("%s: mount on %q hides the sandbox's own %s", m.Origin, m.Target, own)
	}
	for _, h := range hostOwn {
		if m.Type == sandbox.TypeBind && m.Source == h.path {
			t.Errorf("%s: binds the host's %s", m.Origin, h.path)
		}
	}
	if m.Type == "sysfs" && m.Flags&sandbox.ReadOnly == 0 {
		t.Errorf("%s: writable sysfs", m.Origin)
	}
	if m.Type == sandbox.TypeBind && m.Source == "/sys" {
		t.Errorf("%s: binds the host's /sys", m.Origin)
	}
}
