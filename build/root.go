package build

import (
	"errors"

	"pkgbox/debian"
	"pkgbox/session"
	"pkgbox/store"
)

// ChooseRoot says which root a build of source (a directory holding
// debian/, or a .dsc; "" for a package to fetch, which comes from the
// root's suite) runs on: root when given; else the root named after
// the changelog's distribution, if the store has one; else the default
// root, named after the host's suite. dist (--dist), when given, stands
// for the changelog's distribution. missing says that the default root
// does not exist yet: the caller makes it (as pkgbox create would) before
// it calls Build with Root set to name.
func ChooseRoot(s *store.Store, source, root, dist string) (name string, missing bool, err error) {
	if root != "" {
		return root, false, nil
	}
	var src *debian.Source // none yet for a package to fetch
	if source != "" {
		if src, err = readSource(source); err != nil {
			return "", false, err
		}
	}
	if name, err = chooseRoot(s, "", withDist(src, dist)); err != nil {
		return "", false, err
	}
	_, err = s.Root(name)
	return name, errors.Is(err, store.ErrNoRoot), nil
}

// chooseRoot is ChooseRoot for a source already read.
func chooseRoot(s *store.Store, root string, src *debian.Source) (string, error) {
	if root != "" {
		return root, nil
	}
	if d := distribution(src); d != "" && d != "UNRELEASED" && store.ValidateName(d) == nil {
		if _, err := s.Root(d); err == nil {
			return d, nil
		}
	}
	name := session.HostSuite()
	if name == "" {
		return "", errors.New("choose a root with --root: the host's suite is unknown")
	}
	return name, nil
}

// withDist is src as if its changelog named dist (when given), for the
// choice of the root.
func withDist(src *debian.Source, dist string) *debian.Source {
	if dist == "" {
		return src
	}
	var c debian.Source
	if src != nil {
		c = *src
	}
	c.Distribution = dist
	return &c
}

// distribution is the changelog's distribution, or "" for a package still
// to be fetched (its suite is the root's).
func distribution(src *debian.Source) string {
	if src == nil {
		return ""
	}
	return src.Distribution
}
