// Command pkgbox-man writes pkgbox's manual pages into a directory:
// pkgbox(1) and one page per command, made from the commands themselves,
// and the hand-written pages of docs/man (pkgbox-profiles(5),
// pkgbox-config(5)).
//
//	go run ./cmd/pkgbox-man DIR
package main

import (
	"os"

	"pkgbox/cmd"
	"pkgbox/docs/man"
)

func main() { os.Exit(man.Main(cmd.NewRootCommand())) }
