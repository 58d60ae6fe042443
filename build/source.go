package build

import "pkgbox/debian"

// readSource reads the source package a build is asked for: a tree with
// debian/ or a .dsc, checked by the debian package.
func readSource(path string) (*debian.Source, error) { return debian.ReadSource(path) }

// buildDeps reduces src's build dependencies and conflicts to what a build
// of type typ on arch with build profiles needs, as dpkg-checkbuilddeps
// does: Build-Depends always, -Arch for architecture-dependent binaries,
// -Indep for Architecture: all ones.
func buildDeps(src *debian.Source, arch string, profiles []string, typ Type) (depends, conflicts string, err error) {
	archDep := typ == Binary || typ == BinaryArch || typ == Full
	indep := typ == Binary || typ == BinaryAll || typ == Full
	return src.BuildDeps(arch, profiles, archDep, indep)
}

// crossBuildDeps is buildDeps for a cross build for host.
func crossBuildDeps(src *debian.Source, host string, profiles []string, typ Type) (depends, conflicts string, err error) {
	archDep := typ == Binary || typ == BinaryArch || typ == Full
	indep := typ == Binary || typ == BinaryAll || typ == Full
	return src.CrossBuildDeps(host, profiles, archDep, indep)
}
