package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"pkgbox/bootstrap"
	"pkgbox/doctor"
	"pkgbox/sandbox"
	"pkgbox/store"
)

// The errors that say pkgbox cannot work here end their one hint line with
// "run `pkgbox doctor`"; others do not.
func TestDoctorHints(t *testing.T) {
	tests := []struct {
		err    error
		doctor bool
	}{
		{&sandbox.NeedRootError{}, true},
		{fmt.Errorf("open session: %w", &sandbox.PastaMissingError{}), true},
		{&sandbox.CgroupError{Limit: "--pids", Err: errors.New("x")}, true},
		{&bootstrap.NoDebootstrapError{Err: errors.New("not found")}, true},
		{&bootstrap.KeyringError{Path: bootstrap.RemovedKeysKeyring, Err: errors.New("x")}, true},
		{&bootstrap.KeyringError{Path: "/home/me/typo.gpg", Err: errors.New("x")}, false},
		{&store.OwnerError{Dir: "/s", UID: 1234, Store: "/s"}, false},
		{store.ErrNoRoot, false},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		report(&out, tt.err, false)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		hint := lines[len(lines)-1]
		if got := strings.HasSuffix(hint, "run `pkgbox doctor`"); got != tt.doctor {
			t.Errorf("%T: hint %q, want doctor %v", tt.err, hint, tt.doctor)
		}
		if len(lines) > 2 {
			t.Errorf("%T: more than one hint line:\n%s", tt.err, out.String())
		}
	}
}

func TestPrintChecks(t *testing.T) {
	checks := []doctor.Check{
		{Name: "debootstrap", OK: true, Detail: "/usr/sbin/debootstrap"},
		{Name: "pasta", Detail: "pasta is not installed", Fix: "sudo apt-get install passt"},
		{Name: "removed-keys", Warning: true, Detail: "missing", Fix: "sudo apt-get install debian-archive-keyring"},
	}
	var out bytes.Buffer
	if err := printChecks(&out, checks, false); err != nil {
		t.Fatal(err)
	}
	want := "ok   debootstrap: /usr/sbin/debootstrap\n" +
		"FAIL pasta: pasta is not installed\n" +
		"     fix: sudo apt-get install passt\n" +
		"warn removed-keys: missing\n" +
		"     fix: sudo apt-get install debian-archive-keyring\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
