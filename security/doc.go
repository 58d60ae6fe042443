// Package security holds tests of what a sandbox can reach of the host: its
// network, its capabilities, its system calls. It has no code of its own.
package security
