package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Output formats of the read commands (-o).
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// tableWidth is what every table fits in.
const tableWidth = 100

// addOutputFlag gives cmd the -o flag of every read command.
func addOutputFlag(cmd *cobra.Command) *string {
	p := cmd.Flags().StringP("output", "o", formatTable, "output format: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]cobra.Completion{formatTable, formatJSON, formatYAML}, cobra.ShellCompDirectiveNoFileComp))
	return p
}

// checkFormat refuses an unknown -o value (a usage error).
func checkFormat(f string) error {
	switch f {
	case formatTable, formatJSON, formatYAML:
		return nil
	}
	return usagef("-o %q: want table, json or yaml", f)
}

// render writes v as JSON or YAML (the API's field names either way), or, for table,
// calls rows for the table's header and rows.
func render(w io.Writer, format string, v any, rows func() ([]string, [][]string)) error {
	switch format {
	case formatJSON:
		return printJSON(w, v)
	case formatYAML:
		return printYAML(w, v)
	case formatTable:
		header, body := rows()
		writeTable(w, header, body)
		return nil
	}
	return checkFormat(format)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printYAML writes v as YAML with the same keys, in the same order, as its JSON.
func printYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle undoes the flow style ({...}, [...]) that parsing JSON leaves on every node, and
// the quotes on strings that need none.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
	} else {
		n.Style &^= yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// writeTable writes an aligned table in at most tableWidth columns: when the natural widths do
// not fit, the widest columns are cut (with "…") until they do.
func writeTable(w io.Writer, header []string, rows [][]string) {
	_ = (&table.Table{Header: header, Rows: rows, Width: tableWidth}).Write(w)
}
