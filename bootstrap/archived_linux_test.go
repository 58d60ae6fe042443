package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pkgbox/bootstrap"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// archivedHost is this machine as a create of an archived suite sees it,
// but with the test archive in the place of Debian's archive service: the
// host's apt sources name it, and the keyring archived suites are checked
// with is the test key.
func archivedHost(t *testing.T, fx *archiveFixture, mirror string) *bootstrap.Host {
	t.Helper()
	apt := t.TempDir()
	line := "deb " + mirror + " " + archivedSuite + " main\n"
	if err := os.WriteFile(filepath.Join(apt, "sources.list"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	h := bootstrap.DefaultHost()
	h.AptDir = apt
	h.ArchiveKeyring = fx.Keyring
	return h
}

func tempStore(t *testing.T) *store.Store {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-archived-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.RemoveTree(dir) })
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCreateArchived makes a root of an archived suite the way `pkgbox
// create squeeze` does, from a local archive whose Release file expired
// years ago: the plan takes the mirror the host's apt sources name and
// the archived suites' keyring; debootstrap checks the signature with it
// and ignores the expiry; the finished root's apt accepts the expired
// Release too, which only its Valid-Until setting allows.
func TestCreateArchived(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	fx := archive(t)
	srv := serveArchive(t, fx)
	mirror := srv.URL + "/archive"
	host := archivedHost(t, fx, mirror)
	s := tempStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The archive's keyring package comes along, as a real squeeze root
	// has squeeze's debian-archive-keyring.
	req := &bootstrap.Request{Suite: archivedSuite, Variant: "minbase", Include: []string{keyringPackage}}
	p, err := bootstrap.NewPlan(ctx, req, host)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Archived || p.Mirror != mirror || p.Keyring != fx.Keyring {
		t.Fatalf("plan: archived %v, mirror %q, keyring %q; want archived, %q, %q", p.Archived, p.Mirror, p.Keyring, mirror, fx.Keyring)
	}
	if want := filepath.Join(host.AptDir, "sources.list") + ":1"; p.MirrorOrigin != want {
		t.Errorf("mirror origin %q, want %q", p.MirrorOrigin, want)
	}

	ev := &events{}
	start := time.Now()
	r, err := bootstrap.Create(ctx, s, p, bootstrap.CreateOptions{Progress: ev.add, Fresh: true})
	if err != nil {
		t.Fatalf("create %s: %v", archivedSuite, err)
	}
	t.Logf("create took %v", time.Since(start).Round(time.Second))
	if ok, _ := srv.served("/archive/dists/" + archivedSuite + "/InRelease"); !ok {
		t.Errorf("debootstrap did not fetch the InRelease file from the test archive")
	}
	// debootstrap names the key that made the good signature.
	fpr := keyFingerprint(t, fx.Keyring)
	var checked []string
	for _, e := range ev.all {
		if e.Name == "VALIDRELSIG" {
			checked = append(checked, e.Text)
		}
	}
	if len(checked) != 1 || !strings.Contains(checked[0], fpr) {
		t.Errorf("debootstrap's signature reports %q, want one naming the test key %s", checked, fpr)
	}

	rec, err := s.Root(archivedSuite)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Suite != archivedSuite || rec.Mirror != mirror {
		t.Errorf("record: suite %q, mirror %q; want %q, %q", rec.Suite, rec.Mirror, archivedSuite, mirror)
	}
	sources, err := os.ReadFile(filepath.Join(r.Path, "etc/apt/sources.list"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "deb " + mirror + " " + archivedSuite + " main"; !strings.Contains(string(sources), want) {
		t.Errorf("the root's sources.list:\n%s\nwant a line %q", sources, want)
	}
	conf, err := os.ReadFile(filepath.Join(r.Path, "etc/apt/apt.conf.d/90pkgbox"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), `Acquire::Check-Valid-Until "false";`) {
		t.Errorf("the root's apt settings do not turn the Valid-Until check off:\n%s", conf)
	}

	// apt in the root, against the same archive, in a throw-away
	// session, without the lists debootstrap left there, so that it
	// fetches and checks the Release file anew.
	update := func(t *testing.T, extra ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		args := append([]string{"/bin/sh", "-c", `rm -rf /var/lib/apt/lists/* && exec apt-get update "$@"`, "sh"}, extra...)
		res, err := session.Run(ctx, &session.Options{Store: s, Root: archivedSuite, Profile: "buildd"}, &session.Command{
			Args:    args,
			Network: true,
			Stdio:   sandbox.Stdio{Stdout: &out, Stderr: &out},
		})
		if err != nil {
			t.Fatalf("apt-get update in the root: %v", err)
		}
		return res.ExitCode, out.String()
	}
	t.Run("apt-get-update", func(t *testing.T) {
		code, out := update(t)
		if code != 0 || strings.Contains(out, "W: ") || strings.Contains(out, "E: ") {
			t.Fatalf("apt-get update in the root: exit status %d:\n%s", code, out)
		}
		if want := "Get:1 " + mirror + " " + archivedSuite + " InRelease"; !strings.Contains(out, want) {
			t.Errorf("apt-get update did not fetch the InRelease file (%q):\n%s", want, out)
		}
	})
	// The Release file really has expired: with the check on, apt refuses it.
	t.Run("apt-get-update-checking-valid-until", func(t *testing.T) {
		code, out := update(t, "-o", "Acquire::Check-Valid-Until=true")
		if code == 0 && !strings.Contains(out, "expired") {
			t.Fatalf("apt-get update with the Valid-Until check accepted the expired Release:\n%s", out)
		}
		if !strings.Contains(out, "expired") {
			t.Errorf("apt-get update with the Valid-Until check failed, but not for the expiry:\n%s", out)
		}
	})
	// pkgbox update: apt-get update and dist-upgrade in the root itself.
	t.Run("update", func(t *testing.T) {
		var log bytes.Buffer
		if _, err := bootstrap.Update(ctx, s, archivedSuite, bootstrap.UpdateOptions{Log: &log}); err != nil {
			t.Fatalf("update %s: %v\n%s", archivedSuite, err, log.String())
		}
	})
	// A second create of the same plan starts from the image the first
	// one kept and upgrades it with apt in the root, whose settings must
	// be the archived suite's by then.
	t.Run("create-from-image", func(t *testing.T) {
		again := *p
		again.Name = archivedSuite + "-again"
		ev := &events{}
		var log bytes.Buffer
		start := time.Now()
		if _, err := bootstrap.Create(ctx, s, &again, bootstrap.CreateOptions{Progress: ev.add, Log: &log}); err != nil {
			t.Fatalf("create %s from the image: %v\n%s", again.Name, err, log.String())
		}
		t.Logf("create from the image took %v", time.Since(start).Round(time.Second))
		reused := false
		for _, e := range ev.all {
			reused = reused || strings.HasPrefix(e.Text, "reusing the bootstrap")
		}
		if !reused {
			t.Errorf("the second create did not start from the image")
		}
		if want := "Get:1 " + mirror + " " + archivedSuite + " InRelease"; !strings.Contains(log.String(), want) && !strings.Contains(log.String(), "Hit:1 "+mirror) {
			t.Errorf("the upgrade did not ask the test archive:\n%s", log.String())
		}
	})
}

// TestCreateArchivedOtherKey bootstraps from an archive whose Release is
// signed by a key the archived suites' keyring does not hold: the create
// must fail on the signature and leave nothing behind. The archive is
// given as --mirror would give it, which must not lose the archived
// suite's keyring.
func TestCreateArchivedOtherKey(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	fx := archive(t)
	srv := serveArchive(t, fx)
	mirror := srv.URL + "/other"
	host := archivedHost(t, fx, srv.URL+"/archive")
	s := tempStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p, err := bootstrap.NewPlan(ctx, &bootstrap.Request{Suite: archivedSuite, Variant: "minbase", Mirror: mirror}, host)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Archived || p.Mirror != mirror || p.MirrorOrigin != "--mirror" || p.Keyring != fx.Keyring {
		t.Fatalf("plan: archived %v, mirror %q from %s, keyring %q; want archived, %q from --mirror, %q",
			p.Archived, p.Mirror, p.MirrorOrigin, p.Keyring, mirror, fx.Keyring)
	}
	_, err = bootstrap.Create(ctx, s, p, bootstrap.CreateOptions{Fresh: true})
	var de *bootstrap.DebootstrapError
	if !errors.As(err, &de) {
		t.Fatalf("create from an archive signed by another key: %v, want a debootstrap error", err)
	}
	if !strings.Contains(strings.ToLower(de.Message), "signature") && !strings.Contains(strings.ToLower(de.Message), "key") {
		t.Errorf("debootstrap's message %q does not blame the signature; error:\n%v", de.Message, err)
	}
	if !strings.Contains(de.Hint(), "--keyring") {
		t.Errorf("hint %q does not point at --keyring", de.Hint())
	}
	if ok, n := srv.served("/other/dists/" + archivedSuite + "/main/binary-" + p.Arch + "/Packages"); ok {
		t.Errorf("debootstrap fetched the Packages file of a Release it could not verify (%d requests)", n)
	}
	checkNothingLeft(t, s, archivedSuite)
}
