// Package reliability holds no code, only the suite that tries hard to
// break pkgbox's guarantees (DESIGN.md, "Guarantees"): nothing outlives a
// sandbox, nothing escapes a root, no user data is lost. It interrupts
// create, run, build and update at random moments with SIGINT, SIGTERM and
// SIGKILL, runs builds and updates against each other, fills a small store,
// and feeds hostile roots and misbehaving builds; after each, it checks the
// host for processes, mounts and leftovers. It prints what it tried at the
// end ("N interrupts, ...: 0 leaks").
//
//	sudo go test -count=1 -v ./reliability [-rounds 20] [-seed N]
package reliability
