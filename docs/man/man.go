// Package man holds the hand-written manual pages, in the Markdown that
// go-md2man turns into roff; `pkgbox __gen-docs` renders them beside the
// pages it makes from the commands.
package man

import "embed"

// Pages are the *.md files: NAME.SECTION.md for the page NAME(SECTION). The
// title line says "DATE" "SOURCE" where the generator puts the date and
// pkgbox's version.
//
//go:embed *.md
var Pages embed.FS
