// Package security holds the tests of the confinement every sandbox gets
// by default (issue 11): what root inside a sandbox must not be able to
// do to the host, each test failing on the code before it and passing
// only while the confinement holds. It has no code of its own; run it with
// `go test ./security` as root on a machine with the shared test root.
package security
