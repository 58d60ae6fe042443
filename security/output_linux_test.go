package security_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pkgbox/bootstrap"
	"pkgbox/build"
	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// Issue 11, finding 4: a symlink planted where the build log goes made
// pkgbox write through it and chown its target to the user who ran sudo.
// The build must refuse, and the target keep its owner and content.
func TestBuildLogSymlink(t *testing.T) {
	testenv.Require(t, testenv.Root)
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	src := testenv.CopyPackage(t, "hello-c")
	const content = "root's own file\n"
	victim := outRootFile(t, content)
	logPath := filepath.Join(filepath.Dir(src), "hello-c_1.0_"+bootstrap.HostArch()+".build")
	if err := os.Symlink(victim, logPath); err != nil {
		t.Fatal(err)
	}
	// The log is made before any session: a store without roots will do.
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = build.Build(context.Background(), &build.Request{Store: s, Source: src, Root: "none", Jobs: 1})
	var oe *build.OutputError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), logPath+" is a symbolic link") {
		t.Errorf("got %v, want a refusal of the symlinked log", err)
	}
	if uid := outOwner(t, victim); uid != 0 {
		t.Errorf("the symlink's target now belongs to uid %d", uid)
	}
	if data, _ := os.ReadFile(victim); string(data) != content {
		t.Errorf("the symlink's target was written: %q", data)
	}
}

// Issue 11, finding 5: artifacts were whatever *.changes the build left in
// /build listed. testdata/packages/evil-changes leaves .bash_profile, a 64
// MiB file declared as 1 byte and forged .changes files listing them;
// only the real artifacts may land in --out. When the build gets
// dpkg-genchanges itself to list .bash_profile, nothing is copied.
func TestBuildHostileArtifacts(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	s, _ := testenv.SharedRoot(t)
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	t.Run("left in /build", func(t *testing.T) {
		out := t.TempDir()
		res, err := build.Build(context.Background(), &build.Request{Store: s, Source: testenv.CopyPackage(t, "evil-changes"), Root: testenv.RootName, Out: out, Jobs: 2})
		if err != nil {
			if res != nil {
				t.Log(strings.Join(res.Tail, "\n"))
			}
			t.Fatalf("build: %v", err)
		}
		want := []string{"evil-changes_1.0_" + res.Arch + ".build", "evil-changes_1.0_" + res.Arch + ".buildinfo",
			"evil-changes_1.0_" + res.Arch + ".changes", "evil-changes_1.0_all.deb"}
		sort.Strings(want)
		if got := outNames(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("--out holds %v, want only the real artifacts and the log %v", got, want)
		}
	})
	t.Run("listed in the real .changes", func(t *testing.T) {
		t.Setenv("DEB_BUILD_OPTIONS", "pkgbox-evil-distaddfile")
		out := t.TempDir()
		res, err := build.Build(context.Background(), &build.Request{Store: s, Source: testenv.CopyPackage(t, "evil-changes"), Root: testenv.RootName, Out: out, Jobs: 2})
		if err == nil || !strings.Contains(err.Error(), `it lists ".bash_profile", which is not a Debian package file name`) {
			t.Fatalf("got %v, want a refusal of .bash_profile", err)
		}
		if res == nil {
			t.Fatal("no result")
		}
		want := []string{"evil-changes_1.0_" + res.Arch + ".build"}
		if got := outNames(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("--out holds %v, want only the log %v", got, want)
		}
	})
}
