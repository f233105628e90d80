package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/master/backup"
)

// newMasterBackupCmd is `ffrtmp master backup`: a backup on demand, through the API
// (GET /v1/backup), written as the master's scheduled backups are.
func newMasterBackupCmd() *cobra.Command {
	var out string
	var keep int
	cmd := &cobra.Command{
		Use:   "backup --out FILE|DIR",
		Short: "Take a backup of a running master's database through the API",
		Long: `backup asks a running master for a consistent copy of its database (GET /v1/backup, an API
key with the admin role) and writes it with a checksum file beside it (FILE.sha256,
sha256sum's format: sha256sum -c FILE.sha256 checks it). Both appear whole or not at all:
a broken download leaves nothing behind.

--out FILE writes FILE, gzip-compressed when its name ends in .gz; an existing FILE is not
overwritten. --out DIR (an existing folder, or a name ending in /) writes
DIR/ffrtmp-<UTC time>.db.gz, named and pruned like the master's scheduled backups
(--backup-dir): with --keep N only the N newest backups in DIR stay.

ffrtmp master restore --from FILE --db PATH puts a backup back (the master stopped).`,
		Example: `  ffrtmp master backup --out master-$(date +%F).db.gz --master https://m1:8080
  ffrtmp master backup --out /var/backups/ffrtmp/ --keep 14`,
		Args: cobra.NoArgs,
		// Not the master's own flags and config file: this is a client of a master.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
	}
	addClientFlags(cmd)
	cmd.Flags().StringVar(&out, "out", "", "the backup file (.gz: compressed), or a folder to write ffrtmp-<UTC time>.db.gz into")
	cmd.Flags().IntVar(&keep, "keep", 0, "with a folder: keep only this many newest backups in it (0: keep all)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if out == "" {
			return usagef("backup needs --out FILE or --out DIR")
		}
		if keep < 0 {
			return usagef("--keep %d: want 0 (keep all) or more", keep)
		}
		fi, statErr := os.Stat(out)
		toDir := strings.HasSuffix(out, "/") || (statErr == nil && fi.IsDir())
		if keep > 0 && !toDir {
			return usagef("--keep prunes a folder of backups: give --out DIR")
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		src := func(w io.Writer) (int64, error) { return c.Client.Backup(cmd.Context(), w) }
		var res backup.Result
		if toDir {
			if err := backup.CheckDir(out); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			res, err = backup.WriteDir(out, time.Now(), keep, src)
		} else {
			res, err = backup.Write(out, src)
		}
		var pruneErr *backup.PruneError
		if err != nil && !errors.As(err, &pruneErr) {
			return c.explain(err, "backup")
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes, database %d bytes) and %s%s from %s\n",
			res.Path, res.Size, res.DBBytes, res.Path, backup.SumSuffix, c.answering())
		return err // a failed prune: the backup is written
	}
	return cmd
}
