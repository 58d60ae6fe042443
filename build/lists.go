package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"pkgbox/debian"
	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// SuiteLists brings the package lists of root's suite, the binary ones and
// the source ones, up to date in the store's source cache, as Fetch does
// before it fetches, and opens them: the Sources indexes and the Packages
// indexes apt keeps (uncompressed). Each is opened as a regular file, never
// through a link; the caller closes them. They stay readable whatever a
// later update does to their names.
func SuiteLists(ctx context.Context, s *store.Store, root string) (sources, packages []*os.File, retErr error) {
	meta, err := s.Root(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read the lists of %q: %w", root, err)
	}
	cache, err := s.SourceCache(ctx, meta.Suite, meta.Arch)
	if err != nil {
		return nil, nil, err
	}
	defer cache.Unlock()
	sess, err := session.Open(ctx, &session.Options{Store: s, Root: root, Profile: "buildd"})
	if err != nil {
		return nil, nil, err
	}
	defer sess.Close()
	var log bytes.Buffer
	res, err := sess.Run(ctx, &session.Command{
		Args:    []string{"/bin/sh", "-c", listsScript},
		Network: true,
		Mounts: []sandbox.Mount{
			{Type: sandbox.TypeBind, Source: cache.Lists, Target: "/var/lib/pkgbox-src-lists", Flags: sandbox.NoSuid | sandbox.NoDev},
		},
		Env:   []string{"DEBIAN_FRONTEND=noninteractive"},
		Stdio: sandbox.Stdio{Stdout: &log, Stderr: &log},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("update the lists of %s: %w", meta.Suite, err)
	}
	if res.ExitCode != 0 {
		return nil, nil, fmt.Errorf("update the lists of %s: apt-get update failed: %s", meta.Suite, aptError(log.String()))
	}
	dir, err := os.OpenFile(cache.Lists, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open the lists of %s: %w", meta.Suite, err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", cache.Lists, err)
	}
	defer func() {
		if retErr != nil {
			for _, f := range append(sources, packages...) {
				f.Close()
			}
		}
	}()
	for _, n := range names {
		isSources := strings.HasSuffix(n, "_Sources")
		if !isSources && !strings.HasSuffix(n, "_binary-"+meta.Arch+"_Packages") {
			continue
		}
		f, err := debian.OpenRegular(dir, n, "package list")
		if err != nil {
			return nil, nil, err
		}
		if isSources {
			sources = append(sources, f)
		} else {
			packages = append(packages, f)
		}
	}
	if len(sources) == 0 {
		return nil, nil, fmt.Errorf("the lists of %s have no Sources index: does the root's apt have a source line?", meta.Suite)
	}
	return sources, packages, nil
}
