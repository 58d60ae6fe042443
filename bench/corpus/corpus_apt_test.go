//go:build corpus

package corpus

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"pault.ag/go/debian/version"
)

// aptConfig runs apt with the host's own sources plus deb-src lines, in a
// private state directory: the host's apt configuration is read, never
// changed, and no mirror name is written anywhere but into that directory.
type aptConfig struct {
	dir  string
	opts []string
}

// newAptConfig writes the host's sources with deb-src added into dir and
// runs apt-get update there.
func newAptConfig(ctx context.Context, dir string) (*aptConfig, error) {
	parts := filepath.Join(dir, "sources.list.d")
	for _, d := range []string{parts, filepath.Join(dir, "lists", "partial"), filepath.Join(dir, "cache", "archives", "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append(files, "/etc/apt/sources.list")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		out, ok := DebSrc(f, string(data))
		if !ok {
			continue
		}
		name := filepath.Base(f)
		if name == "sources.list" {
			name = "host-sources.list"
		}
		if err := os.WriteFile(filepath.Join(parts, name), []byte(out), 0o644); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no apt sources in /etc/apt to derive deb-src lines from")
	}
	empty := filepath.Join(dir, "empty.list")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return nil, err
	}
	a := &aptConfig{dir: dir, opts: []string{
		"-o", "Dir::Etc::SourceList=" + empty,
		"-o", "Dir::Etc::SourceParts=" + parts,
		"-o", "Dir::State::Lists=" + filepath.Join(dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "APT::Sandbox::User=root",
		"-o", "Debug::NoLocking=1",
	}}
	if out, err := a.run(ctx, "", "apt-get", "update", "-q"); err != nil {
		return nil, fmt.Errorf("apt-get update with deb-src lines: %w\n%s", err, tail(out, 15))
	}
	return a, nil
}

func (a *aptConfig) run(ctx context.Context, dir, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, append(append([]string{}, a.opts...), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// sourceVersion is the newest version of source package name the host's
// sources offer, with the binary packages it lists.
func (a *aptConfig) sourceVersion(ctx context.Context, name string) (string, []string, error) {
	out, err := a.run(ctx, "", "apt-cache", "showsrc", "--only-source", name)
	if err != nil {
		return "", nil, fmt.Errorf("apt-cache showsrc %s: %w\n%s", name, err, tail(out, 5))
	}
	// The version of the root's suite itself, as the root sees it: the
	// host's -updates and -security may carry newer ones that a root of
	// the suite does not list.
	madison, err := a.run(ctx, "", "apt-cache", "madison", name)
	if err != nil {
		return "", nil, fmt.Errorf("apt-cache madison %s: %w\n%s", name, err, tail(madison, 5))
	}
	inSuite := SuiteVersions(madison, name, hostSuite())
	var best *version.Version
	var bins []string
	for _, s := range stanzas(out) {
		if s["Package"] != name || !inSuite[s["Version"]] {
			continue
		}
		v, err := version.Parse(s["Version"])
		if err != nil {
			continue
		}
		if best == nil || version.Compare(v, *best) > 0 {
			best = &v
			bins = nil
			for _, b := range strings.Split(s["Binary"], ",") {
				if b = strings.TrimSpace(b); b != "" {
					bins = append(bins, b)
				}
			}
		}
	}
	if best == nil {
		return "", nil, fmt.Errorf("no source package %q in the host's sources", name)
	}
	return best.String(), bins, nil
}

// unserved returns the files of name=ver the mirror does not serve.
func (a *aptConfig) unserved(ctx context.Context, name, ver string) ([]string, error) {
	out, err := a.run(ctx, "", "apt-get", "source", "--print-uris", "-qq", name+"="+ver)
	if err != nil {
		return nil, fmt.Errorf("apt-get source --print-uris %s=%s: %w\n%s", name, ver, err, tail(out, 5))
	}
	var missing []string
	client := &http.Client{Timeout: 30 * time.Second}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasPrefix(f[0], "'") {
			continue
		}
		uri := strings.Trim(f[0], "'")
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, uri, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			missing = append(missing, f[1]+" ("+err.Error()+")")
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			missing = append(missing, fmt.Sprintf("%s (%d)", f[1], resp.StatusCode))
		}
	}
	return missing, nil
}

// fetchSource downloads name=ver into dir and returns its .dsc.
func (a *aptConfig) fetchSource(ctx context.Context, name, ver, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if out, err := a.run(ctx, dir, "apt-get", "source", "--download-only", "-q", name+"="+ver); err != nil {
		return "", fmt.Errorf("apt-get source %s=%s: %w\n%s", name, ver, err, tail(out, 5))
	}
	dscs, _ := filepath.Glob(filepath.Join(dir, "*.dsc"))
	if len(dscs) != 1 {
		return "", fmt.Errorf("apt-get source %s=%s left %d .dsc files", name, ver, len(dscs))
	}
	return dscs[0], nil
}

// downloadBinaries fetches the archive's binary packages of source name at
// version ver for arch (and all) into dir, binNMUs included, and returns
// what it fetched as PKG=VERSION.
func (a *aptConfig) downloadBinaries(ctx context.Context, name, ver, arch string, bins []string, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// apt-cache show fails as a whole on one unknown name (udebs are not
	// in its lists) but still prints the others.
	out, _ := a.run(ctx, "", "apt-cache", append([]string{"show"}, bins...)...)
	want := ArchiveBinaries(out, name, ver, arch)
	if len(want) == 0 {
		return nil, fmt.Errorf("the archive has no %s binary packages of %s %s", arch, name, ver)
	}
	var args []string
	for p, v := range want {
		args = append(args, p+"="+v)
	}
	if out, err := a.run(ctx, dir, "apt-get", append([]string{"download", "-q"}, args...)...); err != nil {
		return nil, fmt.Errorf("apt-get download: %w\n%s", err, tail(out, 5))
	}
	return args, nil
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hostSuite is the host's codename, the suite of the default root.
func hostSuite() string {
	data, _ := os.ReadFile("/etc/os-release")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION_CODENAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
