//go:build linux && !amd64 && !arm64

package bootstrap

// noSyncABIs: none known here, so debootstrap syncs as it always did.
func noSyncABIs() []noSyncABI { return nil }
