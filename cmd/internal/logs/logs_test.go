package logs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFormats(t *testing.T) {
	for _, c := range []struct{ level, format, want string }{
		{"info", "text", `level=INFO msg=hello n=1`},
		{"debug", "json", `"level":"INFO","msg":"hello","n":1`},
	} {
		var b bytes.Buffer
		log, err := New(c.level, c.format, &b)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello", "n", 1)
		if !strings.Contains(b.String(), c.want) || !strings.Contains(b.String(), "time") {
			t.Errorf("%s: %q, want %q with a time", c.format, b.String(), c.want)
		}
	}
	for _, c := range []struct{ level, format, want string }{
		{"loud", "text", `--log-level "loud": want debug, info, warn or error`},
		{"info", "xml", `--log-format "xml": want text or json`},
	} {
		if _, err := New(c.level, c.format, &bytes.Buffer{}); err == nil || err.Error() != c.want {
			t.Errorf("%s %s: %v, want %q", c.level, c.format, err, c.want)
		}
	}
}

// TestJournalDropsTime: text lines to the file JOURNAL_STREAM names carry no time; to
// another file, or as JSON, they do.
func TestJournalDropsTime(t *testing.T) {
	dir := t.TempDir()
	journal, err := os.Create(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	other, err := os.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(journal.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	for _, c := range []struct {
		f        *os.File
		format   string
		wantTime bool
	}{{journal, "text", false}, {other, "text", true}, {journal, "json", true}} {
		log, err := New("info", c.format, c.f)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello")
		b, err := os.ReadFile(c.f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "time"); got != c.wantTime || !strings.Contains(string(b), "hello") {
			t.Errorf("%s as %s: %q; time wanted: %v", filepath.Base(c.f.Name()), c.format, b, c.wantTime)
		}
		_ = c.f.Truncate(0)
		_, _ = c.f.Seek(0, 0)
	}
}
