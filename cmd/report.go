package cmd

import (
	"github.com/spf13/cobra"

	"pkgbox/batch"
)

type reportOptions struct {
	from []string
}

func newBatchReportCommand() *cobra.Command {
	o := &reportOptions{}
	c := &cobra.Command{
		Use:   "batch-report RESULTS... [flags]",
		Short: "Merge the --json records of a batch's shards into one table",
		Long: `Read the records that pkgbox build --json wrote, one a line, from each
RESULTS file (- for standard input): the shards of one batch, run by a
scheduler's parallel jobs (pkgbox build --shard I/N). Print one table of
them all, with the counts, and exit as the whole batch would have: 0 when
every source was built or skipped, 3 when a package failed, 1 when pkgbox
could not build a source or a source has no record.

A source recorded twice (a shard run again) keeps its later record. With
--from, the batch's list, every source of the list without a record (a
shard that never ran or did not finish) counts as not built.`,
		Example: `  pkgbox batch-report results/shard-*.jsonl
  pkgbox batch-report --from sources.list results-*.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var list []batch.Item
			for _, f := range o.from {
				items, err := batch.ReadListFile(f, c.InOrStdin())
				if err != nil {
					return &usageError{err}
				}
				list = append(list, items...)
			}
			var runs [][]*batch.Record
			for _, f := range args {
				recs, err := batch.ReadRecordsFile(f, c.InOrStdin())
				if err != nil {
					return err
				}
				runs = append(runs, recs)
			}
			recs := batch.Merge(runs, list)
			printBatchTable(c.OutOrStdout(), recs, -1)
			if code := batch.Count(recs).ExitStatus(); code != batch.ExitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&o.from, "from", nil, "the batch's list of sources, to count those without a record (repeatable)")
	return c
}
