package rdeps

import (
	"fmt"
	"os"
	"slices"

	"pault.ag/go/debian/deb"

	"pkgbox/debian"
)

// Uses says whether src's build dependencies, reduced for arch and
// profiles as Find reduces a suite's, name one of names, and which: the
// test Find applies to a suite's sources, for sources given as trees or
// .dsc files (rebuild-rdeps --from), such as new packages not in any
// suite yet.
func Uses(src *debian.Source, names []string, arch string, profiles []string) (string, error) {
	depends, _, err := src.BuildDeps(arch, profiles, true, true)
	if err != nil {
		return "", fmt.Errorf("source %s %s: %w", src.Name, src.Version, err)
	}
	return uses(depends, names), nil
}

// ProvidedByDebs returns binary and the names that those of the .deb
// files debs that are binary provide, as their control data says (read
// with pault.ag/go/debian/deb): what the new .debs of a library answer
// to, without a suite's Packages lists.
func ProvidedByDebs(binary string, debs []string) ([]string, error) {
	names := []string{binary}
	for _, p := range debs {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		d, err := deb.Load(f, p)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read the control data of %s: %w", p, err)
		}
		prov, ok := d.Control.Values["Provides"]
		pkg := d.Control.Package
		d.Close()
		f.Close()
		if pkg != binary || !ok {
			continue
		}
		more, err := providedNames(prov)
		if err != nil {
			return nil, fmt.Errorf("%s: Provides: %w", p, err)
		}
		for _, n := range more {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names, nil
}
