package table

import (
	"bytes"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table Table
		want  string
	}{
		{
			name: "columns as wide as their widest cell, two spaces apart, no trailing spaces",
			table: Table{Header: []string{"NAME", "STATUS", "NOTE"},
				Rows: [][]string{{"a", "running", ""}, {"longer-name", "ok", "x"}}},
			want: "" +
				"NAME         STATUS   NOTE\n" +
				"a            running\n" +
				"longer-name  ok       x\n",
		},
		{
			name: "widths count runes, not bytes",
			table: Table{Header: []string{"CASE", "FPS"},
				Rows: [][]string{{"720p→360p", "30"}, {"a", "1"}}},
			want: "" +
				"CASE       FPS\n" +
				"720p→360p  30\n" +
				"a          1\n",
		},
		{
			name: "right-aligned columns pad on the left",
			table: Table{Header: []string{"case", "value", "ok"}, Right: []int{1},
				Rows: [][]string{{"throughput", "201.5", "yes"}, {"p99", "3", "NO"}}},
			want: "" +
				"case        value  ok\n" +
				"throughput  201.5  yes\n" +
				"p99             3  NO\n",
		},
		{
			name: "a short row's last cell runs on without widening its column",
			table: Table{Header: []string{"CASE", "ENCODER", "FPS", "SPEED"},
				Rows: [][]string{{"cam", "x264", "30.0", "1.00x"}, {"bad", "nvenc", "failed: no device here"}}},
			want: "" +
				"CASE  ENCODER  FPS   SPEED\n" +
				"cam   x264     30.0  1.00x\n" +
				"bad   nvenc    failed: no device here\n",
		},
		{
			name:  "cells past the header are left out",
			table: Table{Header: []string{"A", "B"}, Rows: [][]string{{"1", "2", "3"}}},
			want:  "A  B\n1  2\n",
		},
		{
			name: "wider than Width: the widest column is cut a rune at a time, its cells ending in …",
			table: Table{Header: []string{"ID", "DETAIL"}, Width: 14,
				Rows: [][]string{{"j1", "abcdefghijklmnop"}, {"j2", "short"}}},
			want: "" +
				"ID  DETAIL\n" +
				"j1  abcdefghi…\n" +
				"j2  short\n",
		},
		{
			name: "no column is cut below 4 runes, even when the table cannot fit",
			table: Table{Header: []string{"AAAAAA", "BBBBBB"}, Width: 5,
				Rows: [][]string{{"123456", "123456"}}},
			want: "AAA…  BBB…\n123…  123…\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.table.Write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestNewAndRow(t *testing.T) {
	tb := New("K", "V")
	tb.Row("key", "value")
	var b strings.Builder
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	if want := "K    V\nkey  value\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 5, "too …"},
		{"né à côté", 4, "né …"},
		{"two\nlines", 20, "two lines"},
		{"anything", 0, ""},
	} {
		if got := Fit(tc.in, tc.n); got != tc.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
