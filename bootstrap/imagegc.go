package bootstrap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pkgbox/store"
)

// imagePrefix starts the file name of every bootstrap image of a suite,
// architecture and variant (see imageFor).
func imagePrefix(suite, arch, variant string) string {
	return fmt.Sprintf("%s-%s-%s-", suite, arch, variant)
}

// ExpiredImage is a bootstrap image that ExpireImages removed.
type ExpiredImage struct {
	Path string
	// Size is the space its file took.
	Size int64
	// Reason says why it went.
	Reason string
}

// imageGrace is how long a new image counts as used without a root made
// like it: its create saves it before it finishes and installs the root.
const imageGrace = time.Hour

// ExpireImages removes the bootstrap images (cache/bootstrap/*.tar) that
// are no longer worth their space: those older than ImageMaxAge, which no
// create reuses, and those of a suite, architecture and variant that no
// root of the store has (its roots were removed), once past imageGrace. A
// create that is unpacking one meanwhile keeps reading it: it has the file
// open.
func ExpireImages(s *store.Store, now time.Time) ([]ExpiredImage, error) {
	dir := filepath.Join(s.Cache, "bootstrap")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list bootstrap images: %w", err)
	}
	var errs []error
	// Without the list of roots, only age decides.
	roots, rerr := s.Roots()
	if rerr != nil {
		errs = append(errs, rerr)
	}
	var out []ExpiredImage
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".tar") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		reason := ""
		if now.Sub(fi.ModTime()) >= ImageMaxAge {
			reason = "older than a week"
		} else if rerr == nil && now.Sub(fi.ModTime()) >= imageGrace && !imageUsed(name, roots) {
			reason = "no root is " + strings.Join(imageKind(name), " ")
		}
		if reason == "" {
			continue
		}
		size, _ := store.DiskUsage(path)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove bootstrap image: %w", err))
			continue
		}
		out = append(out, ExpiredImage{Path: path, Size: size, Reason: reason})
	}
	return out, errors.Join(errs...)
}

// imageUsed tells whether a root was made like the image name: same suite,
// architecture and variant.
func imageUsed(name string, roots []*store.Root) bool {
	for _, r := range roots {
		if strings.HasPrefix(name, imagePrefix(r.Suite, r.Arch, r.Variant)) {
			return true
		}
	}
	return false
}

// imageKind reads suite, architecture and variant back from an image's
// name, SUITE-ARCH-VARIANT-HASH.tar, for messages.
func imageKind(name string) []string {
	f := strings.Split(strings.TrimSuffix(name, ".tar"), "-")
	if len(f) < 4 {
		return []string{name}
	}
	// The suite may hold dashes; architecture, variant and hash do not.
	n := len(f)
	return []string{strings.Join(f[:n-3], "-"), f[n-3], f[n-2]}
}
