package main

// The help side of the command line: the shell completion command, and the configuration
// reference (doc/config.md) generated from the flag definitions of the whole command tree, so
// that it cannot drift from them (docs_test.go checks it is current).

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ffrtmp/ffrtmp/cmd/internal/mastercmd"
	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
)

// addCompletion gives root cobra's `completion` command with install instructions, and
// completes flags of other commands from the master where that is cheap. Call it after every
// command is added.
func addCompletion(root *cobra.Command) {
	root.CompletionOptions.DisableDefaultCmd = false
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Short = "Print the shell completion script for bash, zsh, fish or powershell"
		c.Long = `completion prints a script that makes your shell complete ffrtmp's commands, flags and
their values: -o formats, and, from the master when it answers within a moment, node IDs,
preset names and scenario names.

Install it once per shell:

  bash (needs the bash-completion package):
    ffrtmp completion bash > ~/.local/share/bash-completion/completions/ffrtmp
    # or for every user: ffrtmp completion bash | sudo tee /etc/bash_completion.d/ffrtmp
  zsh:
    echo 'autoload -U compinit; compinit' >> ~/.zshrc   # if completion is not enabled yet
    ffrtmp completion zsh > "${fpath[1]}/_ffrtmp"
  fish:
    ffrtmp completion fish > ~/.config/fish/completions/ffrtmp.fish
  powershell:
    ffrtmp completion powershell >> $PROFILE

Then start a new shell. Or load it into the current one only:

  source <(ffrtmp completion bash)      # bash
  source <(ffrtmp completion zsh)       # zsh
  ffrtmp completion fish | source       # fish`
		c.Example = `  ffrtmp completion bash > ~/.local/share/bash-completion/completions/ffrtmp
  source <(ffrtmp completion zsh)`
		// Cobra's command only shows its help, also for a shell it does not know: say so.
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("no completion for shell %q: want bash, zsh, fish or powershell", args[0])
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	registerJobCompletions(root)
}

// newDocsCmd is the hidden `ffrtmp docs` group: documentation generated from the command tree.
func newDocsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "docs",
		Short:  "Generate documentation from the command tree",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "config",
		Short: "Print the configuration reference (doc/config.md) as Markdown",
		Long: `config walks every command of ffrtmp and prints, for each flag, its type, default and
description, and the environment variable and config-file key that also set it.
` + "`make docs`" + ` writes it to doc/config.md.`,
		Example: `  ffrtmp docs config > doc/config.md`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeConfigReference(cmd.OutOrStdout(), cmd.Root())
		},
	})
	return cmd
}

// daemonBinding says how a daemon-like command also reads its flags: every flag from
// EnvPrefix_<FLAG>, and from a YAML file.
type daemonBinding struct {
	envPrefix string
	// extraEnv is a second variable for a flag (the seed's names).
	extraEnv map[string]string
	// section is the config file's key under which the command's keys sit ("run" → run.port);
	// empty: the keys are at the top level.
	section string
	// file says which config file, in words.
	file string
	// configEnv is the variable of --config when it is not envPrefix_CONFIG.
	configEnv string
	// also names the standalone binary with the same flags.
	also string
}

// daemonBindings are the commands that bind every flag to the environment, by command path
// under the root. The client command groups are found by their connection flags instead.
var daemonBindings = map[string]daemonBinding{
	"master": {envPrefix: mastercmd.EnvPrefix, extraEnv: map[string]string{"api-key": "MASTER_API_KEY"},
		file: "the YAML file `--config` names (keys are the flag names)", also: "ffrtmp-master"},
	"worker": {envPrefix: workercmd.EnvPrefix, extraEnv: map[string]string{"api-key": "FFMPEG_RTMP_API_KEY"},
		file: "the YAML file `--config` names (keys are the flag names)", also: "ffrtmp-worker"},
	"ingest": {envPrefix: ingestEnvPrefix, section: ingestConfigPart, configEnv: envPrefix + "_CONFIG",
		file: "the `" + ingestConfigPart + ":` section of the ffrtmp config file (`~/.config/ffrtmp/" + configFileName +
			"`, or the one `--config` or `" + envPrefix + "_CONFIG` names); `--master`, `--api-key` and the TLS flags of the master connection as for the client commands"},
	"run": {envPrefix: runEnvPrefix, section: runConfigPart, configEnv: envPrefix + "_CONFIG",
		file: "the `" + runConfigPart + ":` section of the ffrtmp config file (`~/.config/ffrtmp/" + configFileName +
			"`, or the one `--config` or `" + envPrefix + "_CONFIG` names)"},
}

// isClientGroup reports whether cmd carries addClientFlags' connection flags.
func isClientGroup(cmd *cobra.Command) bool {
	pf := cmd.PersistentFlags()
	for _, k := range append(slices.Clone(clientKeys), "config", "timeout") {
		if pf.Lookup(k) == nil {
			return false
		}
	}
	return true
}

// flagBinding is where else one flag's value may come from.
type flagBinding struct{ env, key string }

// bindingOf returns how cmd binds flag f beyond the command line, if it does.
func bindingOf(cmd *cobra.Command, f *pflag.Flag, persistent bool) flagBinding {
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if d, ok := daemonBindings[path]; ok && !persistent {
		b := flagBinding{env: d.envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))}
		if f.Name == "config" && d.configEnv != "" {
			b.env = d.configEnv
		}
		if e, ok := d.extraEnv[f.Name]; ok {
			b.env += ", " + e
		}
		if f.Name != "config" {
			b.key = f.Name
			if d.section != "" {
				b.key = d.section + "." + f.Name
			}
		}
		return b
	}
	if persistent && isClientGroup(cmd) {
		switch {
		case slices.Contains(clientKeys, f.Name):
			return flagBinding{env: envName(f.Name), key: f.Name}
		case f.Name == "config":
			return flagBinding{env: envPrefix + "_CONFIG"}
		}
	}
	return flagBinding{}
}

// writeConfigReference writes doc/config.md: how settings are looked up, then every
// command's flags.
func writeConfigReference(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated by ` + "`ffrtmp docs config`" + ` (make docs) from the flag definitions: do not edit. -->

Every setting of ` + "`" + root.Name() + "`" + ` is a command-line flag. Many can also come from the environment or from
a YAML config file: the tables name the variable and the file key of each flag that has them.
When a setting is given in several places, the first of these wins:

1. the flag on the command line;
2. the environment variable;
3. the config file;
4. for the client commands only, run in the folder where ` + "`ffrtmp run`" + ` keeps its data:
   ` + "`" + dataDirName + "/" + masterURLFile + "` and `" + dataDirName + "/" + apiKeyFile + "`" + `;
5. the flag's default.

A config file key that is not in the Config key column of its command is refused: the command
stops before it starts anything and names the key and the file.

## Where commands read their settings

`)
	var clients []string
	walkCommands(root, func(c *cobra.Command) {
		if isClientGroup(c) {
			clients = append(clients, "`"+c.CommandPath()+"`")
		}
	})
	if len(clients) > 0 {
		fmt.Fprintf(&b, "- **Client commands** (%s and their subcommands) talk to a master. ", strings.Join(clients, ", "))
		var envs, keys []string
		for _, k := range clientKeys {
			envs = append(envs, "`"+envName(k)+"`")
			keys = append(keys, "`"+k+"`")
		}
		fmt.Fprintf(&b, "Environment: %s. Config file: `$XDG_CONFIG_HOME/ffrtmp/%s` "+
			"(default `~/.config/ffrtmp/%s`), or the one `--config` or `%s_CONFIG` names, with the keys %s:\n\n",
			strings.Join(envs, ", "), configFileName, configFileName, envPrefix, strings.Join(keys, ", "))
		b.WriteString("  ```yaml\n  master: https://master.example.com:8080\n  api-key: ffk_0123456789abcdef\n  ca: /etc/ffrtmp/ca.pem\n  ```\n\n")
		fmt.Fprintf(&b, "  Without any of them, the master is `%s` and the API key is the one `ffrtmp run` saved in `%s/%s`.\n",
			defaultMaster, dataDirName, apiKeyFile)
	}
	for _, path := range slices.Sorted(maps.Keys(daemonBindings)) {
		c, _, err := root.Find(strings.Fields(path))
		if err != nil || c == root || c.Hidden {
			continue
		}
		d := daemonBindings[path]
		fmt.Fprintf(&b, "- **`%s`**", c.CommandPath())
		if d.also != "" {
			fmt.Fprintf(&b, " (and the `%s` daemon, which takes the same flags)", d.also)
		}
		fmt.Fprintf(&b, ": every flag also as `%s_<FLAG>` (upper case, `-` as `_`)", d.envPrefix)
		for _, f := range slices.Sorted(maps.Keys(d.extraEnv)) {
			fmt.Fprintf(&b, ", `--%s` also as `%s`", f, d.extraEnv[f])
		}
		fmt.Fprintf(&b, "; config file: %s.\n", d.file)
	}
	b.WriteString("- Other commands read their flags only.\n")

	walkCommands(root, func(c *cobra.Command) { writeCommandFlags(&b, c) })
	_, err := io.WriteString(w, b.String())
	return err
}

// walkCommands calls fn for root and every command under it that a user can run or list,
// depth first, in the order help lists them.
func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			walkCommands(sub, fn)
		}
	}
}

// writeCommandFlags writes c's section: the flags c defines (not those it inherits).
func writeCommandFlags(b *strings.Builder, c *cobra.Command) {
	// ffrtmp and its commands are sections (##), their subcommands subsections (###, ####).
	depth := max(strings.Count(c.CommandPath(), " "), 1)
	title := "`" + c.CommandPath() + "`"
	if !c.HasParent() {
		title += ": flags of every command"
	}
	fmt.Fprintf(b, "\n%s %s\n\n%s\n", strings.Repeat("#", min(depth+1, 6)), title, mdSentence(c.Short))
	local, persistent := ownFlags(c)
	if len(local)+len(persistent) == 0 {
		b.WriteString("\nNo flags of its own.\n")
		return
	}
	if len(persistent) > 0 {
		if c.HasAvailableSubCommands() {
			fmt.Fprintf(b, "\nThese flags apply to `%s` and every command under it.\n", c.CommandPath())
		}
		writeFlagTable(b, c, persistent, true)
	}
	if len(local) > 0 {
		if len(persistent) > 0 {
			b.WriteString("\nFlags of this command only:\n")
		}
		writeFlagTable(b, c, local, false)
	}
}

// ownFlags are the visible flags c defines itself: local ones, and persistent ones its
// subcommands inherit. Cobra's own --help is left out.
func ownFlags(c *cobra.Command) (local, persistent []*pflag.Flag) {
	visible := func(out *[]*pflag.Flag) func(*pflag.Flag) {
		return func(f *pflag.Flag) {
			if !f.Hidden && f.Deprecated == "" && f.Name != "help" {
				*out = append(*out, f)
			}
		}
	}
	c.PersistentFlags().VisitAll(visible(&persistent))
	c.LocalNonPersistentFlags().VisitAll(visible(&local))
	return local, persistent
}

func writeFlagTable(b *strings.Builder, c *cobra.Command, flags []*pflag.Flag, persistent bool) {
	b.WriteString("\n| Flag | Type | Default | Environment | Config key | Description |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, f := range flags {
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		bind := bindingOf(c, f, persistent)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", name, f.Value.Type(), mdCode(defaultOf(f)),
			mdCodeList(bind.env), mdCode(bind.key), mdCell(f.Usage))
	}
}

// defaultOf is the default as a user would write it; empty for none.
func defaultOf(f *pflag.Flag) string {
	switch d := f.DefValue; {
	case d == "[]" || d == "map[]":
		return ""
	case strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") && strings.HasSuffix(f.Value.Type(), "Slice"):
		return strings.Trim(d, "[]")
	default:
		return d
	}
}

// mdCode puts s in backticks, or leaves the cell empty.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + mdCell(s) + "`"
}

// mdCodeList is code for a comma-separated list.
func mdCodeList(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(s, ", ")
	for i, p := range parts {
		parts[i] = mdCode(p)
	}
	return strings.Join(parts, ", ")
}

// mdCell escapes what would break a Markdown table row.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mdSentence ends s with a full stop.
func mdSentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
