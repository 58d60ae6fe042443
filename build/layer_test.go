package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"pkgbox/store"
)

// A layer's key changes with everything that changes what the install
// gives, so a stale layer is never found: the root's generation (update,
// --write session, recreate), its apt lists, the dependencies, the
// architecture, the build profiles and the install method.
func TestLayerKeyStaleness(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	root := func() *store.Root { return &store.Root{Name: "test", Created: created} }
	plan := func() *depsPlan {
		return &depsPlan{Arch: "amd64", Depends: "build-essential, fakeroot, zlib1g-dev", Conflicts: "libfoo-dev"}
	}
	key := func(r *store.Root, p *depsPlan, profiles []string, lists string) string {
		return hashString(layerKeyText(r, p, profiles, lists, nil, ""))
	}
	base := key(root(), plan(), []string{"nocheck", "nodoc"}, "lists-1")
	if again := key(root(), plan(), []string{"nodoc", "nocheck"}, "lists-1"); again != base {
		t.Errorf("the same inputs (profiles in another order) give another key")
	}
	changes := map[string]func(r *store.Root, p *depsPlan, profiles *[]string, lists *string){
		"root updated":         func(r *store.Root, _ *depsPlan, _ *[]string, _ *string) { r.Updated = created.Add(time.Hour) },
		"root written to":      func(r *store.Root, _ *depsPlan, _ *[]string, _ *string) { r.Generation++ },
		"root made again":      func(r *store.Root, _ *depsPlan, _ *[]string, _ *string) { r.Created = created.Add(time.Second) },
		"other root":           func(r *store.Root, _ *depsPlan, _ *[]string, _ *string) { r.Name = "test2" },
		"apt lists changed":    func(_ *store.Root, _ *depsPlan, _ *[]string, l *string) { *l = "lists-2" },
		"Build-Depends":        func(_ *store.Root, p *depsPlan, _ *[]string, _ *string) { p.Depends += ", make" },
		"Build-Conflicts":      func(_ *store.Root, p *depsPlan, _ *[]string, _ *string) { p.Conflicts = "" },
		"architecture":         func(_ *store.Root, p *depsPlan, _ *[]string, _ *string) { p.Arch = "i386" },
		"build profiles":       func(_ *store.Root, _ *depsPlan, pr *[]string, _ *string) { *pr = []string{"nocheck"} },
		"dummy-package method": func(_ *store.Root, p *depsPlan, _ *[]string, _ *string) { p.Dummy = true },
		"extra package":        func(_ *store.Root, p *depsPlan, _ *[]string, _ *string) { p.ExtraSHA256 = []string{"0123 x.deb"} },
	}
	for name, change := range changes {
		r, p, profiles, lists := root(), plan(), []string{"nocheck", "nodoc"}, "lists-1"
		change(r, p, &profiles, &lists)
		if key(r, p, profiles, lists) == base {
			t.Errorf("%s: the key did not change, so a stale layer would be reused", name)
		}
	}
}

// Extra repositories, their keys, their lists and a host architecture
// each change the key; without them the key is the one of before.
func TestLayerKeyExtraSources(t *testing.T) {
	root := &store.Root{Name: "test"}
	plan := &depsPlan{Arch: "amd64", Depends: "build-essential, fakeroot"}
	key := func(x *extraSources, lists string) string {
		return hashString(layerKeyText(root, plan, nil, "lists-1", x.keyText(lists), ""))
	}
	if key(nil, "") != key(&extraSources{}, "x") {
		t.Errorf("no extra sources changed the key")
	}
	base := func() *extraSources {
		return &extraSources{repos: []*Repository{{}}, lines: []string{"deb http://repo.example.invalid/debian experimental main"}, keySums: []string{"k1"}}
	}
	want := key(base(), "extra-lists-1")
	if key(nil, "") == want {
		t.Errorf("an extra repository did not change the key")
	}
	for name, change := range map[string]func(x *extraSources, lists *string){
		"repository":       func(x *extraSources, _ *string) { x.lines[0] += " contrib" },
		"key":              func(x *extraSources, _ *string) { x.keySums[0] = "k2" },
		"repository lists": func(_ *extraSources, l *string) { *l = "extra-lists-2" },
		"host":             func(x *extraSources, _ *string) { x.host = "arm64" },
	} {
		x, lists := base(), "extra-lists-1"
		change(x, &lists)
		if key(x, lists) == want {
			t.Errorf("%s: the key did not change, so a stale layer would be reused", name)
		}
	}
}

// The apt lists' identity changes when `apt-get update` rewrites a list.
func TestListsID(t *testing.T) {
	root := t.TempDir()
	lists := filepath.Join(root, "var", "lib", "apt", "lists")
	if err := os.MkdirAll(filepath.Join(lists, "partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(lists, "mirror.example_debian_dists_bookworm_main_binary-amd64_Packages")
	if err := os.WriteFile(list, []byte("Package: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := listsID(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lists, "lock"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if same, _ := listsID(root); same != before {
		t.Errorf("apt's lock file changed the lists' identity")
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(list, later, later); err != nil {
		t.Fatal(err)
	}
	if after, _ := listsID(root); after == before {
		t.Errorf("a list rewritten by apt-get update left the identity as it was")
	}
}

func TestLayerScripts(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "-c", sealScript()).CombinedOutput(); err != nil {
		t.Errorf("seal script is not valid sh: %v\n%s\n%s", err, out, sealScript())
	}
	out := "before\tinstall ok installed\tbash:amd64\t5.2.15-2+b2\n" +
		"after\tinstall ok installed\tbash:amd64\t5.2.15-2+b2\n" +
		"after\tdeinstall ok config-files\told:amd64\t1.0\n" +
		"after\tinstall ok installed\tzlib1g-dev:amd64\t1:1.2.13.dfsg-1\n"
	before, after := parseInstalled(out, "before"), parseInstalled(out, "after")
	if len(before) != 1 || len(after) != 2 || after[1] != "zlib1g-dev:amd64 1:1.2.13.dfsg-1" {
		t.Errorf("parsed before %q, after %q", before, after)
	}
	if n := added(before, after); n != 1 {
		t.Errorf("added %d packages, want 1", n)
	}
}
