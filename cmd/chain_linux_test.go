package cmd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pkgbox/batch"
	"pkgbox/internal/testenv"
)

// debFile returns the contents of path inside the .deb deb.
func debFile(t *testing.T, deb, path string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO "$2"`, "sh", deb, path).Output()
	if err != nil {
		t.Fatalf("%s in %s: %v", path, deb, err)
	}
	return string(out)
}

// edit rewrites file by replacing old with new, which must be there.
func edit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chainRepos are the chain repositories in the test store.
func chainRepos() []string {
	m, _ := filepath.Glob(filepath.Join(testenv.StoreDir(), "tmp", "chain.*"))
	return m
}

// TestBuildChain builds testdata's chain-app, whose build reads a file of
// chain-data's package: alone it fails (the suite has no chain-data);
// with --chain, listed first, it is built after chain-data, with
// chain-data's .deb installed from the chain's repository. A chain-data
// resumed with --skip-built takes chain-data's .debs from its output
// directory. A chain-data changed gives chain-app another dependency layer: its key covers the
// repository's lists, so a stale one is never reused. A failed chain-data skips chain-app, and an
// independent source is built all the same; a cycle is refused before
// anything is built. No repository is left in the store.
func TestBuildChain(t *testing.T) {
	testenv.SharedRoot(t)
	app, data := testenv.CopyPackage(t, "chain-app"), testenv.CopyPackage(t, "chain-data")
	before := chainRepos()

	// Alone, chain-app cannot have its build dependencies.
	recs, stderr, code := runBatch(t, app, "-J", "1", "--out", t.TempDir()) // -J: a batch of one, for its record a line
	if r := recs["chain-app"]; code != 3 || r == nil || r.Outcome != batch.Failed || r.Failed != "install build dependencies" {
		t.Errorf("chain-app alone: exit status %d, record %+v; stderr:\n%s", code, r, stderr)
	}

	// A cycle: a chain-data that build-depends on chain-app.
	cyc := testenv.CopyPackage(t, "chain-data")
	edit(t, filepath.Join(cyc, "debian/control"), "debhelper-compat (= 13)", "debhelper-compat (= 13), chain-app")
	c := pkgbox(t, "build", "--root", testenv.RootName, "--chain", app, cyc)
	cout, err := c.CombinedOutput()
	if want := "pkgbox: build-dependency cycle: " + app + " needs " + cyc + " needs " + app + "\nhint: "; c.ProcessState.ExitCode() != 2 || !strings.HasPrefix(string(cout), want) {
		t.Errorf("cycle: %v, output:\n%s\nwant %q", err, cout, want)
	}

	// The chain.
	out := t.TempDir()
	recs, stderr, code = runBatch(t, "--chain", app, data, "--out", out)
	if code != 0 {
		t.Fatalf("chain: exit status %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "pkgbox: chain order: "+data+", "+app+"\n") {
		t.Errorf("chain order not said:\n%s", stderr)
	}
	first := recs["chain-app"]
	if first == nil || first.Outcome != batch.Built || recs["chain-data"] == nil || recs["chain-data"].Outcome != batch.Built {
		t.Fatalf("records %+v; stderr:\n%s", recs, stderr)
	}
	log, err := os.ReadFile(first.Log)
	if err != nil {
		t.Fatal(err)
	}
	res := []string{
		`(?m)^pkgbox: extra repository, in the session only: deb \[trusted=yes\] file:///var/lib/pkgbox-extra/repo-0 \./$`,
		`(?m)^Build environment: .*\n(  .*\n)*  chain-data:all 1\.0\n`,
	}
	if first.Layer != nil && first.Layer.Action == "made" {
		// Installed now, not in a layer of an earlier run: from the chain.
		res = append(res, `(?m)^Get:\d+ file:/var/lib/pkgbox-extra/repo-0 \./ chain-data 1\.0 `,
			`(?m)^Unpacking chain-data \(1\.0\) `, `(?m)^Setting up chain-data \(1\.0\) `)
	}
	for _, re := range res {
		if !regexp.MustCompile(re).Match(log) {
			t.Errorf("chain-app's log %s lacks %s", first.Log, re)
		}
	}
	if got := debFile(t, filepath.Join(out, "chain-app_1.0_all.deb"), "./usr/bin/chain-app"); !strings.Contains(got, "chain-app: hello from chain-data") {
		t.Errorf("chain-app's script:\n%s", got)
	}
	if first.Layer == nil {
		t.Fatalf("chain-app used no layer")
	}

	// Resumed with --skip-built after chain-app's build was lost:
	// chain-data, built before, is skipped, and its .debs (which its
	// .changes lists) serve chain-app again.
	if err := os.Remove(filepath.Join(out, "chain-app_1.0_amd64.changes")); err != nil {
		t.Fatal(err)
	}
	recs, stderr, code = runBatch(t, "--chain", app, data, "--out", out, "--skip-built", "--overwrite")
	if code != 0 || recs["chain-data"] == nil || recs["chain-data"].Outcome != batch.Skipped || recs["chain-app"] == nil || recs["chain-app"].Outcome != batch.Built {
		t.Errorf("resumed chain: exit status %d, records %+v; stderr:\n%s", code, recs, stderr)
	}

	// chain-data changed: chain-app's layer cannot be the one it had.
	if err := os.WriteFile(filepath.Join(data, "greeting"), []byte("hello again\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(data, "debian/changelog"), "chain-data (1.0)", "chain-data (1.1)")
	out2 := t.TempDir()
	recs, stderr, code = runBatch(t, "--chain", app, data, "--out", out2)
	second := recs["chain-app"]
	if code != 0 || second == nil || second.Layer == nil {
		t.Fatalf("second chain: exit status %d, records %+v; stderr:\n%s", code, recs, stderr)
	}
	// (Made now, or by an earlier run of this test: the key is the point.)
	if second.Layer.Key == first.Layer.Key {
		t.Errorf("with a new chain-data, chain-app's layer is the one it had: %+v", second.Layer)
	}
	if log, _ := os.ReadFile(second.Log); !regexp.MustCompile(`(?m)^  chain-data:all 1\.1$`).Match(log) {
		t.Errorf("chain-app's log %s does not list chain-data 1.1 among what it built with", second.Log)
	}
	if got := debFile(t, filepath.Join(out2, "chain-app_1.0_all.deb"), "./usr/bin/chain-app"); !strings.Contains(got, "chain-app: hello again") {
		t.Errorf("chain-app's script, after chain-data 1.1:\n%s", got)
	}

	// chain-data fails: chain-app is skipped, hello-all (independent) built.
	broken := testenv.CopyPackage(t, "chain-data")
	f, err := os.OpenFile(filepath.Join(broken, "debian/rules"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\noverride_dh_auto_build:\n\texit 1\n")
	f.Close()
	hello := testenv.CopyPackage(t, "hello-all")
	recs, stderr, code = runBatch(t, "--chain", app, broken, hello, "-J", "2", "--out", t.TempDir())
	if code != 3 {
		t.Errorf("broken chain: exit status %d, want 3; stderr:\n%s", code, stderr)
	}
	want := map[string]batch.Outcome{"chain-data": batch.Failed, "chain-app": batch.Skipped, "hello-all": batch.Built}
	for name, o := range want {
		if r := recs[name]; r == nil || r.Outcome != o {
			t.Errorf("broken chain: %s: %+v, want %s; stderr:\n%s", name, r, o, stderr)
		}
	}
	if r := recs["chain-app"]; r != nil && r.Error != "not built: it needs the packages of "+broken+", which ended failed" {
		t.Errorf("chain-app skipped for %q", r.Error)
	}
	// -J 2: the independent hello-all built beside chain-data; chain-app
	// never started.
	started := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasSuffix(l, ": started") {
			started++
		}
		if strings.Contains(l, ": FAILED in ") || strings.Contains(l, ": built (") {
			break
		}
	}
	if started != 2 || strings.Contains(stderr, app+": started") {
		t.Errorf("not chain-data and hello-all side by side, chain-app not at all:\n%s", stderr)
	}
	if !strings.Contains(stderr, app+": not built: it needs the packages of "+broken) {
		t.Errorf("the table does not say why chain-app was skipped:\n%s", stderr)
	}

	if after := chainRepos(); len(after) > len(before) {
		t.Errorf("chain repositories left in the store: %v", after)
	}
}

// TestRebuildRdepsFrom: rebuild-rdeps with --from looks for the dependents
// of a new library among given sources, none in the suite: of chain-app
// and hello-all, only chain-app build-depends on chain-data, and it builds
// with chain-data's new .deb installed.
func TestRebuildRdepsFrom(t *testing.T) {
	testenv.SharedRoot(t)
	data, app, hello := testenv.CopyPackage(t, "chain-data"), testenv.CopyPackage(t, "chain-app"), testenv.CopyPackage(t, "hello-all")
	debs := t.TempDir()
	if recs, stderr, code := runBatch(t, data, "-J", "1", "--out", debs); code != 0 {
		t.Fatalf("chain-data: exit status %d, %+v; stderr:\n%s", code, recs, stderr)
	}
	deb := filepath.Join(debs, "chain-data_1.0_all.deb")
	list := filepath.Join(t.TempDir(), "sources")
	if err := os.WriteFile(list, []byte(hello+"\n"+app+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	listed, err := pkgbox(t, "rebuild-rdeps", "--root", testenv.RootName, "chain-data", "--from", list, "--extra-package", deb, "--list").Output()
	if err != nil || string(listed) != app+"\n" {
		t.Errorf("--list: %v, printed %q, want %q", err, listed, app+"\n")
	}

	out := t.TempDir()
	c := pkgbox(t, "rebuild-rdeps", "--root", testenv.RootName, "chain-data", "--from", list, "--extra-package", deb, "--out", out, "--json")
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("rebuild-rdeps: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "pkgbox: 1 source of 2 given build-depends on chain-data\n") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	var r batch.Record
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Input != app || r.Outcome != batch.Built {
		t.Fatalf("records %q (%v)", stdout.String(), err)
	}
	if log, _ := os.ReadFile(r.Log); !regexp.MustCompile(`(?m)^  chain-data:all 1\.0$`).Match(log) {
		t.Errorf("chain-app's log %s does not list chain-data among what it built with", r.Log)
	}
	if got := debFile(t, filepath.Join(out, "chain-app_1.0_all.deb"), "./usr/bin/chain-app"); !strings.Contains(got, "hello from chain-data") {
		t.Errorf("chain-app's script:\n%s", got)
	}
}

// TestBuildChainInterrupt interrupts a chain while its first source
// builds: exit status 130, the source it needed not built, and neither
// processes nor sessions nor the chain's repository left.
func TestBuildChainInterrupt(t *testing.T) {
	testenv.SharedRoot(t)
	tok := fmt.Sprintf("0.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	data, app := testenv.CopyPackage(t, "chain-data"), testenv.CopyPackage(t, "chain-app")
	rules := "#!/usr/bin/make -f\n%:\n\tdh $@\n\noverride_dh_auto_build:\n\tsleep 1000 " + tok + "\n"
	if err := os.WriteFile(filepath.Join(data, "debian", "rules"), []byte(rules), 0o755); err != nil {
		t.Fatal(err)
	}
	before, known := chainRepos(), sessions(t)
	c := pkgbox(t, "build", "--root", testenv.RootName, "--chain", app, data, "--out", t.TempDir())
	var stdout, stderr testenv.SyncBuffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "chain-data's build sleeps", 60*time.Second, func() bool { return len(procsWith(tok)) > 0 })
	if len(chainRepos()) <= len(before) {
		t.Errorf("no chain repository in the store while the chain runs")
	}
	c.Process.Signal(os.Interrupt)
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("pkgbox after SIGINT: %v, want exit status 130; stderr:\n%s", err, stderr.String())
	}
	for _, re := range []string{`(?m)^chain-data +1\.0 +interrupted +build +`, `(?m)^\S+/chain-app +- +not-built +- +`} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("stdout lacks %s:\n%s\nstderr:\n%s", re, stdout.String(), stderr.String())
		}
	}
	if p := procsWith(tok); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	for _, id := range testenv.LeakedSessions(testenv.StoreDir(), known) {
		t.Errorf("session %s left behind", id)
	}
	if after := chainRepos(); len(after) > len(before) {
		t.Errorf("chain repositories left in the store: %v", after)
	}
}
