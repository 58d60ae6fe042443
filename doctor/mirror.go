package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"pkgbox/bootstrap"
)

// mirrorTimeout bounds the mirror check.
var mirrorTimeout = 15 * time.Second

// hostSuite reads the host's codename from os-release, as the default
// root's suite is chosen.
func hostSuite(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// checkMirror fetches the Release file of the host's suite from the
// mirror create would use for it: the one the host's apt sources name
// (bootstrap.HostMirror). No mirror name is written here.
func checkMirror(ctx context.Context, env *Env) Check {
	c := Check{Name: "mirror"}
	name := hostSuite(env.OSRelease)
	suite, known := bootstrap.LookupSuite(name)
	if !known {
		c.Warning = true
		c.Detail = fmt.Sprintf("the host's suite %q is not a Debian suite pkgbox knows: the default root cannot be made, name a suite", name)
		c.Fix = "pkgbox create SUITE"
		return c
	}
	sources, _ := bootstrap.ReadHostSources(env.AptDir)
	uri, origin := bootstrap.HostMirror(sources, suite, env.ListsDir)
	if uri == "" {
		c.Warning = true
		c.Detail = fmt.Sprintf("the host's apt sources name no Debian mirror for %s: create falls back to debootstrap's default", suite.Codename)
		c.Fix = fmt.Sprintf("pkgbox create %s --mirror URL", suite.Codename)
		return c
	}
	release := uri + "/dists/" + suite.Codename + "/Release"
	c.Fix = fmt.Sprintf("check the network and proxy (http_proxy), or pkgbox create %s --mirror URL", suite.Codename)
	err := fetchHead(ctx, env.HTTP, release)
	if errors.Is(err, errNotChecked) {
		c.OK, c.Fix = true, ""
		c.Detail = fmt.Sprintf("%s (from %s): not checked, pkgbox only checks http, https and file mirrors", release, origin)
		return c
	}
	if err != nil {
		c.Detail = fmt.Sprintf("%s (from %s): %v", release, origin, err)
		return c
	}
	c.OK, c.Fix = true, ""
	c.Detail = fmt.Sprintf("%s reachable (from %s)", release, origin)
	return c
}

// errNotChecked is a mirror doctor has no way to check (ftp).
var errNotChecked = errors.New("not checked")

// fetchHead checks that rawURL answers: a HEAD for http(s), a stat for
// file: URLs; ftp mirrors are left to debootstrap (errNotChecked).
func fetchHead(ctx context.Context, client *http.Client, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "file":
		_, err := os.Stat(u.Path)
		return err
	case "http", "https":
	default:
		return errNotChecked
	}
	ctx, cancel := context.WithTimeout(ctx, mirrorTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}
