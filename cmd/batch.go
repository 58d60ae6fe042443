package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pkgbox/batch"
	"pkgbox/build"
	"pkgbox/chain"
	"pkgbox/store"
)

// batchHelp is build's help on batches.
const batchHelp = `Several sources, or --from FILE (one source a line, # starts a comment; -
reads standard input), make a batch: -J N builds run at once (default: as
many as the CPUs hold at each build's -j, and the memory at 2 GiB each;
each build's -j defaults to its share of the CPUs), on roots chosen and made
before the first starts, sharing dependency layers and the apt cache. A
batch goes on after a failure (--keep-going=false stops starting builds).
--skip-built skips a source whose .changes for its version is in its output
directory already, so an interrupted batch resumes. --shard I/N builds the
I-th of N parts of the list, for the parallel jobs of a scheduler (see
deploy/); ` + "`pkgbox batch-report`" + ` merges their --json records. A batch prints
one line per running build on a terminal, a line per event elsewhere, and a
table at the end; --json prints one record a line as each source ends. Its
exit status is 0 when all were built, 3 when a package failed, 1 when pkgbox
could not build one, 130 when interrupted.

--chain builds the sources (directories or .dsc files) in build-dependency
order, each seeing the .debs of the earlier ones, as mock --chain does: a
source waits for those whose binary packages its Build-Depends name, and
builds with a local repository of the chain's .debs (kept in the store while
the chain runs, removed at its end); a source whose dependency failed is
skipped, with the reason, the others go on. A cycle is an error.`

// batchOptions are build's flags for many sources.
type batchOptions struct {
	from      []string
	builds    int
	keepGoing bool
	skipBuilt bool
	shard     string
	chain     bool
}

func (b *batchOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&b.from, "from", nil, "read sources from FILE, one a line, # for comments (- for standard input; repeatable)")
	f.IntVarP(&b.builds, "parallel-builds", "J", 0, "builds at once in a batch (default: what the CPUs and memory hold at each build's -j)")
	f.BoolVar(&b.keepGoing, "keep-going", true, "go on with the other sources of a batch after one failed")
	f.BoolVar(&b.skipBuilt, "skip-built", false, "skip a source whose .changes for its version is in the output directory already")
	f.StringVar(&b.shard, "shard", "", "build only the I-th of N parts of the list, as I/N (for a scheduler's parallel jobs)")
	f.BoolVar(&b.chain, "chain", false, "build the sources in build-dependency order, each with the .debs of those before it")
}

// wanted says whether the command line asks for a batch: more than one
// source, a list, or a batch flag.
func (b *batchOptions) wanted(c *cobra.Command, args []string) bool {
	if len(args) > 1 || len(b.from) > 0 {
		return true
	}
	for _, f := range []string{"parallel-builds", "keep-going", "skip-built", "shard", "chain"} {
		if setByUser(c, f) {
			return true
		}
	}
	return false
}

// items is the batch's list of sources: the arguments, then each list,
// checked for duplicates, then cut to the shard.
func (b *batchOptions) items(c *cobra.Command, args []string) ([]batch.Item, error) {
	if b.builds < 0 {
		return nil, &usageError{fmt.Errorf("-J %d: want a number of builds at once", b.builds)}
	}
	items := batch.ArgItems(args)
	for _, f := range b.from {
		more, err := batch.ReadListFile(f, c.InOrStdin())
		if err != nil {
			return nil, &usageError{err}
		}
		items = append(items, more...)
	}
	if len(items) == 0 {
		return nil, &usageError{errors.New("no sources: give SRC arguments or --from FILE")}
	}
	if err := batch.CheckDuplicates(items); err != nil {
		return nil, &usageError{err}
	}
	if b.shard != "" && b.chain {
		return nil, &usageError{errors.New("--shard with --chain: a part of a chain would miss the packages of the other parts; build the chain in one job")}
	}
	if b.shard != "" {
		sh, err := batch.ParseShard(b.shard)
		if err != nil {
			return nil, &usageError{err}
		}
		items = sh.Of(items)
	}
	return items, nil
}

// runBatch builds many sources, each from the request tmpl.
func runBatch(c *cobra.Command, g *globalOptions, o *buildOptions, s *store.Store, tmpl *build.Request, args []string) error {
	items, err := o.batch.items(c, args)
	if err != nil {
		return err
	}
	errw := c.ErrOrStderr()
	if len(items) == 0 {
		fmt.Fprintf(errw, "pkgbox: shard %s of a list of fewer sources is empty: nothing to build\n", o.batch.shard)
		return nil
	}
	// Every root is chosen, and a missing default root made, before any
	// build starts: builds never make roots, and never race to.
	missing, err := batch.Resolve(s, items, o.root, o.dist)
	if err != nil {
		return err
	}
	for _, name := range missing {
		if err := ensureDefaultRoot(c.Context(), g, s, errw, name); err != nil {
			return err
		}
	}
	var hook func(*batch.Request)
	if o.batch.chain {
		ch, err := chain.New(s, items, tmpl)
		var cycle *chain.CycleError
		if errors.As(err, &cycle) {
			return &usageError{err}
		}
		if err != nil {
			return err
		}
		defer func() {
			if err := ch.Repo.Remove(); err != nil {
				warn("remove the chain's repository: " + err.Error())
			}
		}()
		items, hook = ch.Items, ch.Hook
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Input
		}
		fmt.Fprintf(errw, "pkgbox: chain order: %s\n", strings.Join(names, ", "))
	}
	recs, err := runItems(c, o, tmpl, items, hook)
	if err != nil {
		return err
	}
	return batchExit(c.ErrOrStderr(), recs)
}

// runItems builds items, each from the request tmpl, with the batch flags
// of o, showing progress on stderr, records on stdout (--json) and the
// table at the end. hook, if set, completes the batch's request (a chain).
func runItems(c *cobra.Command, o *buildOptions, tmpl *build.Request, items []batch.Item, hook func(*batch.Request)) ([]*batch.Record, error) {
	errw := c.ErrOrStderr()
	builds, jobs := batch.DefaultJobs(o.batch.builds, o.jobs, batch.CPUs(), build.DefaultMemory())
	tmpl.Jobs = jobs
	keepGoing := o.batch.keepGoing || !setByUser(c, "keep-going")
	ui := newBatchUI(errw, len(items), builds, jobs)
	var enc *json.Encoder
	if o.jsonOut {
		enc = json.NewEncoder(c.OutOrStdout())
	}
	var jerr error
	start := time.Now()
	req := &batch.Request{
		Items: items, Template: *tmpl, Jobs: builds, KeepGoing: keepGoing, SkipBuilt: o.batch.skipBuilt,
		Events: func(e batch.Event) {
			ui.event(e)
			if enc != nil && e.Kind == batch.Finished && jerr == nil {
				jerr = enc.Encode(e.Record)
			}
		},
	}
	if hook != nil {
		hook(req)
	}
	recs := batch.Run(c.Context(), req)
	ui.close()
	table := c.OutOrStdout()
	if enc != nil {
		table = errw // stdout holds the records only
	}
	printBatchTable(table, recs, time.Since(start))
	if jerr != nil {
		return recs, fmt.Errorf("write the records: %w", jerr)
	}
	return recs, nil
}

// batchExit is the command's error for a batch's records: nil when all
// were built and passed their checks, else their exit status; a check
// that failed as its fail option says (exit 4, as for one build) counts
// only when every package built.
func batchExit(w io.Writer, recs []*batch.Record) error {
	if code := batch.Count(recs).ExitStatus(); code != batch.ExitOK {
		return &exitError{code: code}
	}
	var err error
	for _, r := range recs {
		if r.Result != nil && len(r.Result.ChecksFailed()) > 0 {
			err = checksError(w, r.Result)
		}
	}
	return err
}

// printBatchTable prints a table of the records and a line of counts, with
// the batch's time unless took is negative.
func printBatchTable(w io.Writer, recs []*batch.Record, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tVERSION\tRESULT\tFAILED PHASE\tTIME\tLOG")
	for _, r := range recs {
		name, version, failed, log := r.Input, "-", "-", "-"
		if r.Result != nil {
			if r.Source != "" {
				name = r.Source
			}
			if r.Version != "" {
				version = r.Version
			}
			if r.Failed != "" {
				failed = r.Failed
			}
			if r.Log != "" {
				log = r.Log
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, version, r.Outcome, failed, roundDuration(r.Duration), log)
	}
	tw.Flush()
	if took < 0 {
		fmt.Fprintln(w, countsLine(batch.Count(recs)))
	} else {
		fmt.Fprintf(w, "%s in %s\n", countsLine(batch.Count(recs)), roundDuration(took))
	}
	for _, r := range recs {
		if r.Outcome == batch.Errored || r.Outcome == batch.Skipped && r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Input, r.Error)
		}
	}
}

// countsLine says how many records ended which way, the outcomes that
// occurred only, in a fixed order.
func countsLine(c batch.Counts) string {
	line := ""
	for _, o := range []batch.Outcome{batch.Built, batch.Skipped, batch.Failed, batch.Errored, batch.Interrupted, batch.NotBuilt} {
		if c[o] == 0 {
			continue
		}
		if line != "" {
			line += ", "
		}
		line += fmt.Sprintf("%d %s", c[o], o)
	}
	if line == "" {
		return "nothing"
	}
	return line
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
