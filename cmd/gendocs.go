package cmd

import (
	"bytes"
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

	"pkgbox/docs/man"
	"pkgbox/store"
)

// newGenDocsCommand builds the hidden `pkgbox __gen-docs DIR`: the manual
// pages, pkgbox(1) and one per command made from the commands themselves,
// and the hand-written ones of docs/man (pkgbox-profiles(5),
// pkgbox-config(5)). SOURCE_DATE_EPOCH sets their date.
func newGenDocsCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "__gen-docs DIR",
		Short:  "Write the manual pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return genDocs(c.Root(), args[0])
		},
	}
}

func genDocs(root *cobra.Command, dir string) error {
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
	pages, _ := fs.Glob(man.Pages, "*.md") // embedded: cannot fail
	for _, p := range pages {
		src, err := man.Pages.ReadFile(p)
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
