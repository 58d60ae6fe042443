package chain

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pault.ag/go/debian/control"

	"pkgbox/store"
)

// makeDeb builds a real .deb with dpkg-deb into dir and returns its path.
func makeDeb(t *testing.T, dir, name, version string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb")
	}
	tree := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tree, "usr/share", name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "usr/share", name, "data"), []byte(name+" "+version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctrl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: pkgbox tests <pkgbox@example.invalid>\n"+
		"Depends: libc6\nDescription: a test package\n A longer text,\n .\n in two paragraphs.\n", name, version)
	if err := os.WriteFile(filepath.Join(tree, "DEBIAN/control"), []byte(ctrl), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, name+"_"+version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	return deb
}

// writeChanges writes a .changes listing files (in its directory) with
// their real sums, unless edit changes its text first.
func writeChanges(t *testing.T, path string, files []string, edit func(string) string) {
	t.Helper()
	var sha, md = "Checksums-Sha256:\n", "Files:\n"
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, m := sha256.Sum256(data), md5.Sum(data)
		sha += fmt.Sprintf(" %s %d %s\n", hex.EncodeToString(s[:]), len(data), filepath.Base(f))
		md += fmt.Sprintf(" %s %d misc optional %s\n", hex.EncodeToString(m[:]), len(data), filepath.Base(f))
	}
	text := "Format: 1.8\nSource: x\nBinary: x\nArchitecture: all\nVersion: 1.0\nDistribution: unstable\n" + sha + md
	if edit != nil {
		text = edit(text)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readIndex(t *testing.T, path string) []control.BinaryIndex {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := control.ParseBinaryIndex(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return idx
}

// TestRepo adds the .debs of two .changes: each Add makes a generation
// holding all the .debs so far, indexed from their control data as apt
// needs it, with a Release whose hash is the index's; a generation is
// newTestRepo is a chain repository in a store of the test's own.
func newTestRepo(t *testing.T) *Repo {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRepo(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// never changed by a later Add.
func TestRepo(t *testing.T) {
	r := newTestRepo(t)
	if r.Line() != "" {
		t.Errorf("an empty repository has line %q", r.Line())
	}
	out := t.TempDir()
	a := makeDeb(t, out, "chain-a", "1.0")
	buildinfo := filepath.Join(out, "chain-a_1.0_amd64.buildinfo")
	if err := os.WriteFile(buildinfo, []byte("not a package"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeChanges(t, filepath.Join(out, "a.changes"), []string{a, buildinfo}, nil)
	added, err := r.Add(filepath.Join(out, "a.changes"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(added) != "[chain-a_1.0_all.deb]" {
		t.Errorf("added %v", added)
	}
	gen1 := filepath.Join(r.Dir(), "gen-1")
	if want := "deb [trusted=yes] file://" + gen1 + " ./"; r.Line() != want {
		t.Errorf("line %q, want %q", r.Line(), want)
	}
	b := makeDeb(t, out, "chain-b", "2.0")
	writeChanges(t, filepath.Join(out, "b.changes"), []string{b}, nil)
	if _, err := r.Add(filepath.Join(out, "b.changes")); err != nil {
		t.Fatal(err)
	}
	for gen, want := range map[string][]string{"gen-1": {"chain-a"}, "gen-2": {"chain-a", "chain-b"}} {
		dir := filepath.Join(r.Dir(), gen)
		idx := readIndex(t, filepath.Join(dir, "Packages"))
		if len(idx) != len(want) {
			t.Fatalf("%s: %d paragraphs, want %d", gen, len(idx), len(want))
		}
		for i, p := range idx {
			data, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(p.Filename, "./")))
			if err != nil {
				t.Fatalf("%s: Filename %q: %v", gen, p.Filename, err)
			}
			sum := sha256.Sum256(data)
			if p.Package != want[i] || p.Values["SHA256"] != hex.EncodeToString(sum[:]) || p.Values["Size"] != fmt.Sprint(len(data)) ||
				p.Values["Depends"] != "libc6" || p.Values["Description"] != "a test package\nA longer text,\n\nin two paragraphs.\n" {
				t.Errorf("%s: paragraph %d: %#v", gen, i, p.Values)
			}
		}
		pk, _ := os.ReadFile(filepath.Join(dir, "Packages"))
		for _, l := range strings.Split(string(pk), "\n") {
			if l != "" && strings.TrimSpace(l) == "" {
				t.Errorf("%s: Packages has a line of spaces, which ends a paragraph for apt:\n%s", gen, pk)
			}
		}
		rel, _ := os.ReadFile(filepath.Join(dir, "Release"))
		if !bytes.Equal(rel, Release(pk)) || !bytes.Contains(rel, fmt.Appendf(nil, " %d Packages\n", len(pk))) {
			t.Errorf("%s: Release\n%s", gen, rel)
		}
	}
	// apt-ftparchive, Debian's own indexer, agrees on every field but
	// the hashes it adds.
	if _, err := exec.LookPath("apt-ftparchive"); err == nil {
		c := exec.Command("apt-ftparchive", "packages", ".")
		c.Dir = filepath.Join(r.Dir(), "gen-2")
		ref, err := c.Output()
		if err != nil {
			t.Fatal(err)
		}
		ours, _ := os.ReadFile(filepath.Join(c.Dir, "Packages"))
		refIdx, _ := control.ParseBinaryIndex(bufio.NewReader(bytes.NewReader(ref)))
		ourIdx, _ := control.ParseBinaryIndex(bufio.NewReader(bytes.NewReader(ours)))
		for i := range refIdx {
			for k, v := range refIdx[i].Values {
				if k == "MD5sum" || k == "SHA1" || k == "SHA512" {
					continue
				}
				if i >= len(ourIdx) || ourIdx[i].Values[k] != v {
					t.Errorf("%s of paragraph %d: apt-ftparchive says %q", k, i, v)
				}
			}
		}
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(r.Dir()); !os.IsNotExist(err) {
		t.Errorf("the repository is still there: %v", err)
	}
}

// TestRepoRefuses: a .deb that is not what its .changes declares, a
// symbolic link where a .deb should be, and a .deb of a name the
// repository has are each refused, and leave no generation.
func TestRepoRefuses(t *testing.T) {
	r := newTestRepo(t)
	defer r.Remove()
	out := t.TempDir()
	a := makeDeb(t, out, "chain-a", "1.0")
	writeChanges(t, filepath.Join(out, "a.changes"), []string{a}, nil)
	// Changed after the .changes was written: another size and sum.
	tampered := makeDeb(t, t.TempDir(), "chain-a", "1.0")
	f, _ := os.OpenFile(tampered, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("x")
	f.Close()
	if err := os.Rename(tampered, a); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(filepath.Join(out, "a.changes")); err == nil || !strings.Contains(err.Error(), "is not what its .changes declares") {
		t.Errorf("tampered .deb: %v", err)
	}
	// A link to a file elsewhere.
	link := t.TempDir()
	real := makeDeb(t, t.TempDir(), "chain-a", "1.0")
	writeChanges(t, filepath.Join(link, "a.changes"), []string{real}, nil)
	if err := os.Symlink(real, filepath.Join(link, filepath.Base(real))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(filepath.Join(link, "a.changes")); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("linked .deb: %v", err)
	}
	if r.Line() != "" {
		t.Errorf("a refused .deb made a generation: %q", r.Line())
	}
	good := t.TempDir()
	g := makeDeb(t, good, "chain-a", "1.0")
	writeChanges(t, filepath.Join(good, "a.changes"), []string{g}, nil)
	if _, err := r.Add(filepath.Join(good, "a.changes")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(filepath.Join(good, "a.changes")); err == nil || !strings.Contains(err.Error(), "has one of that name already") {
		t.Errorf("the same .deb twice: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.Dir(), "pool")); len(entries) != 1 {
		t.Errorf("pool holds %v", entries)
	}
}

// TestRepoAddDebs: .debs the user gives go in as they are, indexed; a
// symbolic link or a file that is not a .deb is refused.
func TestRepoAddDebs(t *testing.T) {
	r := newTestRepo(t)
	defer r.Remove()
	dir := t.TempDir()
	a := makeDeb(t, dir, "new-lib", "2.0")
	link := filepath.Join(t.TempDir(), filepath.Base(a))
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	if err := r.AddDebs([]string{link}); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("a link: %v", err)
	}
	notDeb := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDeb, []byte("x"), 0o644)
	if err := r.AddDebs([]string{notDeb}); err == nil {
		t.Errorf("a .txt was taken")
	}
	if err := r.AddDebs([]string{a}); err != nil {
		t.Fatal(err)
	}
	idx := readIndex(t, filepath.Join(r.Dir(), "gen-1", "Packages"))
	if len(idx) != 1 || idx[0].Package != "new-lib" || idx[0].Version.String() != "2.0" {
		t.Errorf("index %+v", idx)
	}
}
