package bootstrap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// ImageMaxAge is how old a cached bootstrap may be and still be reused.
// Reusing one is always followed by apt-get update and dist-upgrade, so its
// age costs download and upgrade time, not freshness; past a week a fresh
// debootstrap is about as quick.
const ImageMaxAge = 7 * 24 * time.Hour

// image is the tree debootstrap made for a plan, kept as a tar file in the
// store's cache (cache/bootstrap/NAME.tar), as pbuilder keeps base.tgz.
// Even with every .deb cached, debootstrap spends most of a create
// unpacking and configuring packages again; unpacking its earlier result
// and upgrading that gives an equivalent root in a fraction of the time.
type image struct {
	path string
}

// imageFor is the cache file for plan p made with debootstrap version v:
// everything that decides what debootstrap makes is in its name.
func imageFor(s *store.Store, p *Plan, v string) image {
	key, _ := json.Marshal(struct {
		Suite, Arch, Variant, Mirror, Keyring, Debootstrap string
		Components, Include                                []string
		NoCheckGPG                                         bool
	}{p.Suite, p.Arch, p.Variant, p.Mirror, p.Keyring, v, p.Components, p.Include, p.NoCheckGPG})
	sum := sha256.Sum256(key)
	name := imagePrefix(p.Suite, p.Arch, p.Variant) + hex.EncodeToString(sum[:6]) + ".tar"
	return image{path: filepath.Join(s.Cache, "bootstrap", name)}
}

// open opens the image when there is one recent enough to reuse, and says
// when it was saved. Holding it open keeps it readable whatever happens to
// its name meanwhile (pkgbox gc expires images).
func (im image) open() (*os.File, time.Time, bool) {
	f, err := os.Open(im.path)
	if err != nil {
		return nil, time.Time{}, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) >= ImageMaxAge {
		f.Close()
		return nil, time.Time{}, false
	}
	return f, fi.ModTime(), true
}

// tarFlags keep everything a root needs: owners by number (the host's
// names mean nothing in the root), modes, extended attributes (file
// capabilities), device nodes, hard links.
var tarFlags = []string{"--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--one-file-system"}

// save writes dir, as debootstrap left it, into the image: to a temporary
// file beside it, renamed into place once complete, so an interrupted save
// leaves the previous image or none.
func (im image) save(ctx context.Context, dir string) (retErr error) {
	if err := os.MkdirAll(filepath.Dir(im.path), 0o755); err != nil {
		return fmt.Errorf("save bootstrap image: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(im.path), "."+filepath.Base(im.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save bootstrap image: %w", err)
	}
	defer func() {
		tmp.Close()
		if retErr != nil {
			os.Remove(tmp.Name())
		}
	}()
	args := append([]string{"--create", "--file=-", "--directory=" + dir}, tarFlags...)
	if err := runTar(ctx, append(args, ".")...)(nil, tmp); err != nil {
		return fmt.Errorf("save bootstrap image: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save bootstrap image: %w", err)
	}
	if err := os.Rename(tmp.Name(), im.path); err != nil {
		return fmt.Errorf("save bootstrap image: %w", err)
	}
	return nil
}

// restore unpacks the image, opened by open, into dir, an empty directory.
func (im image) restore(ctx context.Context, f *os.File, dir string) error {
	args := append([]string{"--extract", "--file=-", "--directory=" + dir, "--same-permissions"}, tarFlags...)
	if err := runTar(ctx, args...)(f, nil); err != nil {
		return fmt.Errorf("unpack bootstrap image %s: %w", im.path, err)
	}
	return nil
}

// runTar returns a function that runs tar with args, reading its archive
// from in or writing it to out when there is one.
func runTar(ctx context.Context, args ...string) func(in io.Reader, out io.Writer) error {
	return func(in io.Reader, out io.Writer) error {
		cmd := exec.CommandContext(ctx, "tar", args...)
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, &stderr
		// tar dies with pkgbox, even when pkgbox is killed: Pdeathsig
		// follows the thread that started it, so start and wait on one.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		// Rootless, tar runs as root of a user namespace with the
		// user's maps: it then reads every file of the root and gives
		// each its owner back, which the user alone could do neither.
		release, done := func() error { return nil }, func() {}
		if os.Geteuid() != 0 {
			uidMap, gidMap, err := sandbox.RootlessMaps()
			if err == nil {
				release, done, err = sandbox.UserCommand(cmd, uidMap, gidMap, "")
			}
			if err != nil {
				return err
			}
		}
		defer done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		if err == nil {
			if err = release(); err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				return fmt.Errorf("tar: %w", err)
			}
			err = cmd.Wait()
		}
		if err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				return fmt.Errorf("tar: %s: %w", lastLine(msg), err)
			}
			return fmt.Errorf("tar: %w", err)
		}
		return nil
	}
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// upgrade runs apt-get update and dist-upgrade in the root opts names,
// network on, downloads through the store's apt cache, in a confined
// sandbox: for update, and for a create from an image. The root's lock
// comes before the cache's, as in builds, so the two never deadlock.
func upgrade(ctx context.Context, opts *session.Options, suite, arch, name string, log io.Writer) error {
	sess, err := session.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer sess.Close()
	cache, unlock, err := opts.Store.AptCache(ctx, suite, arch)
	if err != nil {
		return err
	}
	defer unlock()
	out := newTail(tailLines)
	w := io.Writer(out)
	if log != nil {
		w = io.MultiWriter(out, log)
	}
	res, err := sess.Run(ctx, &session.Command{
		Args:    []string{"/bin/sh", "-c", upgradeScript},
		Network: true,
		Env:     []string{"DEBIAN_FRONTEND=noninteractive"},
		Mounts:  []sandbox.Mount{{Type: sandbox.TypeBind, Source: cache, Target: "/var/cache/apt/archives", Flags: sandbox.NoSuid | sandbox.NoDev}},
		Stdio:   sandbox.Stdio{Stdout: w, Stderr: w},
	})
	if err != nil {
		return fmt.Errorf("upgrade root %q: %w", name, err)
	}
	if res.ExitCode != 0 {
		return &AptError{Root: name, Status: res.ExitCode, Tail: out.lines()}
	}
	return nil
}

// upgradeScript is what update and a create from an image run in the root.
const upgradeScript = `set -e
apt-get update
apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade
`
