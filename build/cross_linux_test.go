package build_test

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pault.ag/go/debian/deb"

	"pkgbox/build"
	"pkgbox/internal/testenv"
)

// checkCrossDebs checks every .deb a build made: its Architecture field is
// want (or all), and each ELF file it holds is for machine. It returns how
// many ELF files it saw.
func checkCrossDebs(t *testing.T, res *build.Result, want string, machine elf.Machine) int {
	t.Helper()
	elves, debs := 0, 0
	for _, a := range res.Artifacts {
		if !strings.HasSuffix(a.Path, ".deb") {
			continue
		}
		debs++
		d, closer, err := deb.LoadFile(a.Path)
		if err != nil {
			t.Fatalf("read %s: %v", a.Path, err)
		}
		arch := d.Control.Architecture.String()
		if arch != want && arch != "all" {
			t.Errorf("%s: Architecture %q, want %q", filepath.Base(a.Path), arch, want)
		}
		for {
			h, err := d.Data.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", a.Path, err)
			}
			if h.Typeflag != tar.TypeReg || h.Size < 4 {
				continue
			}
			data, err := io.ReadAll(d.Data)
			if err != nil {
				t.Fatalf("read %s in %s: %v", h.Name, a.Path, err)
			}
			if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
				continue
			}
			f, err := elf.NewFile(bytes.NewReader(data))
			if err != nil {
				t.Errorf("%s in %s: %v", h.Name, a.Path, err)
				continue
			}
			elves++
			if f.Machine != machine {
				t.Errorf("%s in %s is for %s, want %s", h.Name, filepath.Base(a.Path), f.Machine, machine)
			}
		}
		closer()
	}
	if debs == 0 {
		t.Errorf("no .deb among %v", res.Artifacts)
	}
	return elves
}

// TestCrossBuild cross-builds testdata's hello-c for arm64 on the amd64
// root: its .deb says arm64 and its program is an AArch64 ELF file.
//
// The store's cached arm64 package list is tampered with first: the build
// must not use it (its hash is in no Release file), and mends it.
func TestCrossBuild(t *testing.T) {
	cached := tamperHostLists(t, "arm64")
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) { r.Host = "arm64" })
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	for _, f := range cached {
		if data, err := os.ReadFile(f); err != nil || bytes.Contains(data, []byte("pkgbox-tampered")) {
			t.Errorf("the cached list %s is still the tampered one (%v)", f, err)
		}
	}
	if res.Arch != "arm64" {
		t.Errorf("result's architecture %q, want arm64", res.Arch)
	}
	checkDebs(t, res, "1.0", map[string][]string{"hello-c_1.0_arm64.deb": {"/usr/bin/hello-c"}})
	if n := checkCrossDebs(t, res, "arm64", elf.EM_AARCH64); n == 0 {
		t.Errorf("no ELF file in the .debs")
	}
	// The build's environment, as the .buildinfo records it: what sbuild
	// --host sets.
	for _, a := range res.Artifacts {
		if strings.HasSuffix(a.Path, ".buildinfo") {
			data, err := os.ReadFile(a.Path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"\nBuild-Architecture: " + runtimeArch(t) + "\n", "\n DEB_BUILD_PROFILES=\"cross nocheck\"\n", "\n DEB_BUILD_OPTIONS=\"nocheck parallel=2\"\n"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("%s lacks %q", filepath.Base(a.Path), strings.TrimSpace(want))
				}
			}
		}
	}
}

// tamperHostLists writes a false package list of host into the store's
// cache of the shared root's suite, under the name the suite's real one
// has, and returns its path.
func tamperHostLists(t *testing.T, host string) []string {
	t.Helper()
	s := sharedStore(t)
	r, err := s.Root(testenv.RootName)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := s.CacheDir(r.Suite, r.Arch)
	if err != nil {
		t.Fatal(err)
	}
	lists, _ := filepath.Glob(filepath.Join(r.Path, "var/lib/apt/lists", "*_binary-"+r.Arch+"_Packages"))
	if len(lists) == 0 {
		t.Fatalf("the shared root has no %s package list", r.Arch)
	}
	var out []string
	for _, l := range lists {
		name := strings.Replace(filepath.Base(l), "_binary-"+r.Arch+"_", "_binary-"+host+"_", 1)
		f := filepath.Join(cache, "pkgbox-lists-"+host, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("Package: pkgbox-tampered\nVersion: 1.0\nArchitecture: "+host+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// runtimeArch is the shared root's architecture, the build architecture.
func runtimeArch(t *testing.T) string {
	r, err := sharedStore(t).Root(testenv.RootName)
	if err != nil {
		t.Fatal(err)
	}
	return r.Arch
}

// TestCrossArchive cross-builds Debian's hello, fetched from the root's
// suite, for arm64.
func TestCrossArchive(t *testing.T) {
	res := buildArchive(t, &build.Request{Package: "hello", Host: "arm64"})
	if n := checkCrossDebs(t, res, "arm64", elf.EM_AARCH64); n == 0 {
		t.Errorf("no ELF file in the .debs")
	}
}
