// Package man holds the hand-written manual pages, in the Markdown that
// go-md2man turns into roff, and writes every page (Write): those, and
// one per command, made from the commands themselves. It is linked into
// pkgbox-man, never into pkgbox: cobra/doc and go-md2man would cost every
// start of pkgbox, the sandbox's re-executed init included, their
// packages' initialisation (about 0.6 ms each time, issue 12).
package man

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"pkgbox/store"
)

// Pages are the *.md files: NAME.SECTION.md for the page NAME(SECTION). The
// title line says "DATE" "SOURCE" where the generator puts the date and
// pkgbox's version.
//
//go:embed *.md
var Pages embed.FS

// Main is pkgbox-man's: it writes the pages of pkgbox, whose command tree
// is root, into the directory its one argument names.
func Main(root *cobra.Command) int {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pkgbox-man DIR")
		return 2
	}
	if err := Write(root, os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "pkgbox-man: %v\n", err)
		return 1
	}
	return 0
}

// Write writes the manual pages into dir: one per command of root, made
// by cobra/doc, and the hand-written Pages, rendered with go-md2man.
// SOURCE_DATE_EPOCH sets the pages' date.
func Write(root *cobra.Command, dir string) error {
	version := root.Version
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write manual pages: %w", err)
	}
	root.DisableAutoGenTag = true
	// The pages describe pkgbox, not this machine: no default taken from the
	// environment (PKGBOX_STORE) or the machine's memory.
	if f := root.PersistentFlags().Lookup("store"); f != nil {
		f.DefValue = store.DefaultDir
	}
	if b, _, err := root.Find([]string{"build"}); err == nil {
		if f := b.Flags().Lookup("memory"); f != nil {
			f.DefValue = "3/4 of the machine's memory"
		}
	}
	hdr := &doc.GenManHeader{Section: "1", Source: "pkgbox " + version, Manual: "pkgbox Manual"}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return fmt.Errorf("write manual pages: %w", err)
	}
	date := time.Now()
	if epoch, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		date = time.Unix(epoch, 0)
	}
	pages, _ := fs.Glob(Pages, "*.md") // embedded: cannot fail
	for _, p := range pages {
		src, err := Pages.ReadFile(p)
		if err != nil {
			return fmt.Errorf("write manual pages: %w", err)
		}
		// The title line leaves the date and the source to fill in, as
		// cobra/doc fills them in the commands' pages.
		src = bytes.Replace(src, []byte(`"DATE" "SOURCE"`),
			[]byte(fmt.Sprintf("%q %q", date.UTC().Format("Jan 2006"), "pkgbox "+version)), 1)
		out := filepath.Join(dir, strings.TrimSuffix(p, ".md"))
		if err := os.WriteFile(out, md2man.Render(src), 0o644); err != nil {
			return fmt.Errorf("write manual pages: %w", err)
		}
	}
	return nil
}
