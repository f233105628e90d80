package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api"
)

// newClusterCmd is `ffrtmp cluster`: the replicated masters, their leader and how far each
// has applied the replicated log; adding and removing members online.
func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show the replicated masters and add or remove members",
		Long: `Several masters (started with --node-id, --cluster-addr and --cluster-peers) replicate one
state through Raft; one of them leads. cluster status shows every member as the master that
answered sees it; cluster add and cluster remove change the membership online, for example
to replace a machine without downtime: start the new master, add it, wait until it has
caught up (BEHIND 0), then remove the old one.

Every member answers (a follower forwards add and remove to the leader), so give the CLI
every master: it moves to the next one when a master is down. These commands need an API key
with the admin role.`,
		Example: `  export FFRTMP_MASTER=https://m1:8080,https://m2:8080,https://m3:8080
  ffrtmp cluster status
  ffrtmp cluster add m4 10.0.0.4:7946
  ffrtmp cluster remove m1
  ffrtmp cluster status -o json --master https://m1:8080,https://m2:8080,https://m3:8080 | jq .leader`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addClientFlags(cmd)
	cmd.AddCommand(newClusterStatusCmd(), newClusterAddCmd(), newClusterRemoveCmd(), newClusterRestoreCmd())
	return cmd
}

func newClusterStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the members, the leader and how far each member has applied the log",
		Long: `status prints the leader, the term and the member that answered, then one line per member:

  ID            the member's --node-id
  ADDRESS       its cluster (raft) address, host:port
  STATE         leader, follower, candidate (an election), or unreachable: the answering
                master could not ask it (its error is printed below the table)
  VOTER         yes when it votes in elections
  APPLIED       the last replicated log entry its database holds
  BEHIND        log entries the leader's database holds that its database does not hold yet
                (0: caught up)
  LAST CONTACT  how long ago a follower last heard from the leader ("-" for the leader)
  API URL       its REST API, as it says itself

A column without data shows "-". A single master (no --cluster-* flags) says it is not
clustered. -o json or -o yaml print the master's answer (GET /v1/cluster) whole.`,
		Example: `  ffrtmp cluster status --master https://m1:8080,https://m2:8080,https://m3:8080
  ffrtmp cluster status -o json | jq '.members[] | {id, state, applied_index}'`,
		Args: cobra.NoArgs,
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		st, err := c.Client.ClusterStatus(cmd.Context())
		if err != nil {
			return explainCluster(c, err, "cluster status")
		}
		return renderCluster(cmd.OutOrStdout(), *output, st, c.answering(), time.Now())
	}
	return cmd
}

func newClusterAddCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add ID HOST:PORT",
		Short: "Add a master to the cluster as a voting member",
		Long: `add makes the master ID, reachable at HOST:PORT (its --cluster-addr), a voting member of the
cluster. Start that master first, with its own --node-id and --cluster-addr, the cluster's
TLS settings and no --cluster-peers (it then waits to be added) and no data of its own; once
added it catches up from the leader by log replay or snapshot. status shows how far it is
(BEHIND). Adding a member that is already in the cluster with the same address changes
nothing.

The leader carries the change out; any member takes the request. add prints the cluster
afterwards, as status does.`,
		Example: `  ffrtmp cluster add m4 10.0.0.4:7946 --master https://m1:8080,https://m2:8080,https://m3:8080`,
		Args:    cobra.ExactArgs(2),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		id, addr := args[0], args[1]
		st, err := c.Client.AddClusterMember(cmd.Context(), id, addr)
		if err != nil {
			return explainCluster(c, err, "cluster add "+id)
		}
		if *output == formatTable {
			fmt.Fprintf(cmd.OutOrStdout(), "%s at %s is a member of the cluster; it catches up from the leader (BEHIND shows how far it is)\n\n", id, addr)
		}
		return renderCluster(cmd.OutOrStdout(), *output, st, c.answering(), time.Now())
	}
	return cmd
}

func newClusterRemoveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove ID",
		Aliases: []string{"rm"},
		Short:   "Remove a master from the cluster",
		Long: `remove takes the master ID out of the cluster: it no longer votes nor receives the log.
Stop that master afterwards; to add it back later, start it afresh (no data of its own) and
run cluster add. Removing the leader hands leadership to another member. Removing the master
the CLI is talking to works too: the leader carries the change out, and with every master in
--master the next command is answered by another one.

Mind the majority: removing members of a three-member cluster while another is down leaves
it without a leader.`,
		Example: `  ffrtmp cluster remove m1 --master https://m1:8080,https://m2:8080,https://m3:8080`,
		Args:    cobra.ExactArgs(1),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		id := args[0]
		if id == "" || id == "." || id == ".." {
			return usagef("member ID %q: not a member ID (`ffrtmp cluster status` shows the members)", id)
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		st, err := c.Client.RemoveClusterMember(cmd.Context(), id)
		if err != nil {
			return explainCluster(c, err, "cluster remove "+id)
		}
		if *output == formatTable {
			fmt.Fprintf(cmd.OutOrStdout(), "%s removed from the cluster: stop its master; to add it back, start it afresh and run `ffrtmp cluster add`\n\n", id)
		}
		return renderCluster(cmd.OutOrStdout(), *output, st, c.answering(), time.Now())
	}
	return cmd
}

func newClusterRestoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore BACKUP",
		Short: "Replace the cluster's whole state with a database backup",
		Long: `restore replaces the farm's whole state, on every member of the cluster, with BACKUP: a
database file GET /v1/backup wrote (curl -H 'Authorization: Bearer K' URL/v1/backup > b.db),
of any master, single or clustered. It is the way to bring a single master's database into a
new cluster (start the cluster empty, then restore) and to recover a cluster from a backup.

Everything the cluster holds now is replaced: jobs, nodes, presets, streams, the webhook
outbox. The master checks the whole file first (a damaged file or a database of another
schema version is refused and nothing changes); then the leader stops the farm's services,
takes the backup, starts them again over it, and every other member installs it. Workers
whose nodes the backup does not know register again.`,
		Example: `  ffrtmp cluster restore backup.db --master https://m1:8080,https://m2:8080,https://m3:8080`,
		Args:    cobra.ExactArgs(1),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		backup, err := os.ReadFile(args[0])
		if err != nil {
			return usagef("backup: %v", err)
		}
		if len(backup) == 0 {
			return usagef("backup %s is empty", args[0])
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		st, err := c.Client.RestoreCluster(cmd.Context(), backup)
		if err != nil {
			var e *api.Error
			if errors.As(err, &e) && e.Status == http.StatusBadRequest {
				return fmt.Errorf("cluster restore %s: the master at %s refused the backup: %s", args[0], c.answering(), e.Message)
			}
			return explainCluster(c, err, "cluster restore")
		}
		if *output == formatTable {
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s (%d bytes) into the cluster\n\n", args[0], len(backup))
		}
		return renderCluster(cmd.OutOrStdout(), *output, st, c.answering(), time.Now())
	}
	return cmd
}

// explainCluster is conn.explain with what the cluster routes add: an unknown member, a
// refused membership change, a cluster without a leader.
func explainCluster(c *conn, err error, what string) error {
	var e *api.Error
	if !errors.As(err, &e) {
		return c.explain(err, what)
	}
	switch e.Status {
	case http.StatusNotFound:
		if id, ok := strings.CutPrefix(what, "cluster remove "); ok && e.Code == api.CodeNotFound {
			return notFoundError{fmt.Errorf("%s: no member %q in the cluster (master at %s): `ffrtmp cluster status` shows the members",
				what, id, c.answering())}
		}
	case http.StatusConflict:
		// The master's message says why (not clustered, ID or address taken) and what to do.
		return fmt.Errorf("%s: the master at %s refused: %s", what, c.answering(), e.Message)
	case http.StatusServiceUnavailable:
		// No leader (an election, or too few members up for a majority), or a master shutting
		// down. From several masters err is an *api.UnreachableError listing each one's answer.
		const hint = "retry in a few seconds (a cluster has a leader while a majority of its masters is up)"
		var ue *api.UnreachableError
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w; %s", what, err, hint)
		}
		return fmt.Errorf("%s: the master at %s: %s: %s", what, c.answering(), strings.TrimSuffix(e.Message, "; retry"), hint)
	}
	return c.explain(err, what)
}

// renderCluster prints a cluster's status in format; answered is the URL of the master that
// answered, now the time LAST CONTACT is measured from.
func renderCluster(w io.Writer, format string, st *api.ClusterStatus, answered string, now time.Time) error {
	if format != formatTable {
		return render(w, format, st, nil)
	}
	writeCluster(w, *st, answered, now)
	return nil
}

// writeCluster is `cluster status` as text: a header line, the members' table, then the
// errors of the members the answering master could not ask and a note when there is no
// leader or the answering master is no member.
func writeCluster(w io.Writer, st api.ClusterStatus, answered string, now time.Time) {
	if !st.Clustered {
		fmt.Fprintf(w, "the master at %s is not clustered: it is a single master\n", answered)
		return
	}
	leader := "no leader"
	if st.Leader != "" {
		leader = "leader " + st.Leader
	}
	// A follower forwards add and remove to the leader: the member that answered may not be
	// the one the CLI asked.
	fmt.Fprintf(w, "%s, term %d, answered by %s via %s\n", leader, st.Term, st.Member, answered)
	header, rows := clusterTable(st, now)
	writeTable(w, header, rows)
	for _, m := range st.Members {
		if m.Error != "" {
			fmt.Fprintf(w, "%s %s: %s\n", m.ID, m.State, m.Error)
		}
	}
	if !slices.ContainsFunc(st.Members, func(m api.ClusterMember) bool { return m.ID == st.Member }) {
		// A removed master keeps answering from what it knew; one not added yet knows nothing.
		fmt.Fprintf(w, "%s, which answered, is not a member: it was removed or is not added yet; ask another master\n", st.Member)
	} else if st.Leader == "" {
		fmt.Fprintf(w, "no leader: an election is under way, or %s is cut off from the majority of the members\n", st.Member)
	}
}

// clusterTable is the members' table of `cluster status`.
func clusterTable(st api.ClusterStatus, now time.Time) ([]string, [][]string) {
	header := []string{"ID", "ADDRESS", "STATE", "VOTER", "APPLIED", "BEHIND", "LAST CONTACT", "API URL"}
	// BEHIND is measured against the leader's database. Not against its commit index: raft's
	// own entries (a new leader's no-op, membership changes) move the commit index but write
	// nothing to the database, so an idle cluster in step would show them as a lag everywhere.
	leaderApplied, known := uint64(0), false
	for _, m := range st.Members {
		if m.ID == st.Leader && m.State == api.MemberLeader {
			leaderApplied, known = m.AppliedIndex, true
		}
	}
	rows := make([][]string, 0, len(st.Members))
	for _, m := range st.Members {
		voter := "no"
		if m.Voter {
			voter = "yes"
		}
		applied, behind := "-", "-"
		if m.State != api.MemberUnreachable {
			applied = strconv.FormatUint(m.AppliedIndex, 10)
			if known {
				// The answering master asks each member on its own: one may have applied more
				// than the leader had when the leader was asked.
				behind = strconv.FormatUint(leaderApplied-min(leaderApplied, m.AppliedIndex), 10)
			}
		}
		contact := "-"
		if m.LastContact != nil && m.State != api.MemberLeader {
			contact = contactAge(now.Sub(*m.LastContact))
		}
		rows = append(rows, []string{m.ID, m.Address, m.State, voter, applied, behind, contact, dashIfEmpty(m.APIURL)})
	}
	return header, rows
}

// contactAge is how long ago a follower heard from its leader: milliseconds below a second
// (a healthy follower hears every few tens of milliseconds), then as jobAge.
func contactAge(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(max(d, 0).Milliseconds(), 10) + "ms"
	}
	return jobAge(d)
}
