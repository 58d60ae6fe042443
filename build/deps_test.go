package build

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDepsScripts(t *testing.T) {
	p := &depsPlan{Source: "hello", Arch: "amd64", Depends: "build-essential, debhelper-compat (= 13), libc6-dev:any",
		Conflicts: "autoconf2.13", Extra: []string{"/build/.extra/0-x's.deb"}, UpdateLists: true}
	down, inst := p.downloadScript(), p.installScript()
	for name, script := range map[string]string{"download": down, "install": inst} {
		if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
			t.Errorf("%s script is not valid sh: %v\n%s\n%s", name, err, out, script)
		}
		// apt's status never shares stdout with the maintainer scripts.
		if strings.Contains(script, "Status-Fd=1") || !strings.Contains(script, "Status-Fd=7") {
			t.Errorf("%s script: apt's status must go to fd 7:\n%s", name, script)
		}
	}
	for _, want := range []string{"apt-get update", "--download-only", "Acquire::ForceHash=SHA256", "sum -c --status", "dpkg-deb --build", "Conflicts: autoconf2.13"} {
		if !strings.Contains(down, want) {
			t.Errorf("download script lacks %q:\n%s", want, down)
		}
	}
	if !strings.Contains(inst, "Debug::NoLocking=1") || strings.Contains(inst, "--download-only") || strings.Contains(inst, "apt-get update") {
		t.Errorf("install script must only install, from the read-only cache:\n%s", inst)
	}
	if strings.Contains(down, "method=dummy\n") {
		t.Errorf("the method must follow the root's apt unless forced:\n%s", down)
	}
	p.Dummy = true
	if !strings.Contains(p.downloadScript(), "method=dummy\n") {
		t.Error("Dummy does not force the dummy method")
	}
}
