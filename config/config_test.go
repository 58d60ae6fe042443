package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	data := `# a comment
store = "/srv/pkgbox"

[build]
jobs = 1_000
nocheck = true
profiles = ["nodoc", 'nocheck']
memory = "4G"
`
	got, err := Parse("c.toml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{Key: "store", Kind: String, Values: []string{"/srv/pkgbox"}, File: "c.toml", Line: 2},
		{Table: "build", Key: "jobs", Kind: Integer, Values: []string{"1000"}, File: "c.toml", Line: 5, TableLine: 4},
		{Table: "build", Key: "nocheck", Kind: Bool, Values: []string{"true"}, File: "c.toml", Line: 6, TableLine: 4},
		{Table: "build", Key: "profiles", Kind: Array, Values: []string{"nodoc", "nocheck"}, File: "c.toml", Line: 7, TableLine: 4},
		{Table: "build", Key: "memory", Kind: String, Values: []string{"4G"}, File: "c.toml", Line: 8, TableLine: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"[build]\njobs = = 4\n", "c.toml:2: "},
		{"[build]\njobs = 1\njobs = 2\n", "c.toml:3: key jobs is already defined"},
		{"build.jobs = 4\n", `c.toml:1: dotted key "build.jobs": write the key in its table, as [build] then jobs = ...`},
		{"[build.x]\njobs = 4\n", "c.toml:1: table [build.x]: want one of the command tables, such as [build]"},
		{"[[build]]\njobs = 4\n", "c.toml:1: table [build]: want one of the command tables, such as [build]"},
	} {
		_, err := Parse("c.toml", []byte(tc.data))
		var ce *Error
		if !errors.As(err, &ce) || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("Parse(%q) = %v, want %q...", tc.data, err, tc.want)
		}
	}
}

func TestUserFileUnderSudo(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("SUDO_USER", "alice")
	old := LookupHome
	LookupHome = func(name string) (string, error) { return "/home/" + name, nil }
	t.Cleanup(func() { LookupHome = old })
	if got := UserFile(); got != "/home/alice/.config/pkgbox/config.toml" {
		t.Errorf("UserFile = %q", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if got := UserFile(); got != "/x/pkgbox/config.toml" {
		t.Errorf("UserFile with XDG_CONFIG_HOME = %q", got)
	}
}
