package bootstrap

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// replay feeds a recorded fd-3 output to a non-terminal Display.
func replay(t *testing.T, name string, verbose bool, extra ...Event) string {
	t.Helper()
	var buf bytes.Buffer
	d := NewDisplay(&buf, verbose)
	if d.tty {
		t.Fatal("a bytes.Buffer is not a terminal")
	}
	f, err := os.Open(recording(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ParseProgress(f, d.Event); err != nil {
		t.Fatal(err)
	}
	for _, e := range extra {
		d.Event(e)
	}
	d.Close()
	return buf.String()
}

func TestDisplayPlain(t *testing.T) {
	for _, name := range []string{"bookworm-minbase-cold.fd3", "bookworm-minbase-warm.fd3", "empty-mirror.fd3"} {
		t.Run(name, func(t *testing.T) {
			got := replay(t, name, false,
				Event{Kind: KindWarning, Name: "COULDNTDL", Text: "Couldn't download package foo"},
				Event{Kind: KindNote, Text: "root bookworm is ready"})
			golden(t, "display-"+strings.TrimSuffix(name, ".fd3")+".golden", got)
			// One line per phase, no bar, no terminal controls.
			if strings.ContainsAny(got, "\r\x1b") {
				t.Errorf("terminal controls in plain output:\n%q", got)
			}
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			seen := map[string]bool{}
			for _, l := range lines {
				if seen[l] {
					t.Errorf("line %q printed twice", l)
				}
				seen[l] = true
			}
			if !strings.HasSuffix(got, "warning: Couldn't download package foo\nroot bookworm is ready\n") {
				t.Errorf("warning and note missing at the end:\n%s", got)
			}
			// Messages are for verbose mode; the error reaches the user
			// as the create's error, not here.
			if strings.Contains(got, "Retrieving") || strings.Contains(got, "Failed getting") {
				t.Errorf("messages in non-verbose output:\n%s", got)
			}
		})
	}
}

func TestDisplayVerbose(t *testing.T) {
	got := replay(t, "empty-mirror.fd3", true)
	want := `I: Target architecture can be executed
Downloading Release file
I: Retrieving InRelease 
I: Retrieving Release 
E: Failed getting release file file:///srv/empty/dists/bookworm/Release
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var buf bytes.Buffer
	d := NewDisplay(&buf, true)
	if _, err := d.Log().Write([]byte("log line\n")); err != nil || buf.String() != "log line\n" {
		t.Errorf("verbose Log() wrote %q, %v", buf.String(), err)
	}
	quiet := NewDisplay(&buf, false)
	buf.Reset()
	if _, err := quiet.Log().Write([]byte("log line\n")); err != nil || buf.Len() != 0 {
		t.Errorf("quiet Log() wrote %q, %v", buf.String(), err)
	}
}

func TestPhaseLine(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Phase: "DOWNDEBS", Title: "Downloading packages", Total: 31870120}, "Downloading packages (31.9 MB)"},
		{Event{Phase: "DOWNPKGS", Title: "Downloading Packages files", Total: 50060337}, "Downloading Packages files (50.1 MB)"},
		{Event{Phase: "EXTRACTPKGS", Title: "Extracting packages", Total: 88}, "Extracting packages (88)"},
		{Event{Phase: "DOWNREL", Title: "Downloading Release file", Total: 100}, "Downloading Release file"},
		{Event{Phase: "SIZEDEBS", Title: "Finding package sizes", Total: 1}, "Finding package sizes"},
		{Event{Phase: "CONFBASE", Title: "Configuring base system", Total: 0}, "Configuring base system"},
	}
	for _, tt := range tests {
		if got := phaseLine(tt.e); got != tt.want {
			t.Errorf("phaseLine(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}
