package backup_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ffrtmp/ffrtmp/master/backup"
)

// data returns n random bytes and a Source that writes them.
func data(t *testing.T, n int) ([]byte, backup.Source) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b[:n/2]) // half random, half zeros: like a database with free pages
	return b, func(w io.Writer) (int64, error) {
		k, err := w.Write(b)
		return int64(k), err
	}
}

// files lists dir's file names, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// TestWriteOpen: a backup written compressed or plain opens back to the same bytes, its
// checksum file passes sha256sum -c, and both appear under their final names only.
func TestWriteOpen(t *testing.T) {
	for _, name := range []string{"b.db.gz", "b.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			want, src := data(t, 1<<20)
			path := filepath.Join(dir, name)
			res, err := backup.Write(path, src)
			if err != nil {
				t.Fatal(err)
			}
			if got := files(t, dir); !slices.Equal(got, []string{name, name + ".sha256"}) {
				t.Fatalf("files %v", got)
			}
			if fi, _ := os.Stat(path); res.DBBytes != int64(len(want)) || res.Size != fi.Size() || len(res.SHA256) != 64 {
				t.Errorf("result %+v, file %d bytes", res, fi.Size())
			}
			if strings.HasSuffix(name, ".gz") && res.Size >= res.DBBytes {
				t.Errorf("compressed %d bytes into %d", res.DBBytes, res.Size)
			}
			cmd := exec.Command("sha256sum", "-c", name+".sha256")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sha256sum -c: %v\n%s", err, out)
			}
			db, chk, cleanup, err := backup.Open(path, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			if chk.SumFile != path+".sha256" || chk.Compressed != strings.HasSuffix(name, ".gz") {
				t.Errorf("checked %+v", chk)
			}
			got, err := os.ReadFile(db)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("opened %d bytes (%v), want the %d written", len(got), err, len(want))
			}
			if _, err := backup.Write(path, src); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("a second write over %s: %v, want refused", name, err)
			}
		})
	}
}

// TestWriteFailureLeavesNothing: a source that fails halfway (the master's snapshot, a
// download cut off) and a folder that is gone leave no file behind.
func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	broken := func(w io.Writer) (int64, error) {
		n, _ := w.Write(make([]byte, 64<<10))
		return int64(n), errors.New("connection reset")
	}
	if _, err := backup.WriteDir(dir, time.Now(), 3, broken); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("broken source: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("a failed backup left %v", got)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, src := data(t, 100)
	if _, err := backup.WriteDir(notDir, time.Now(), 0, src); err == nil {
		t.Error("a backup into a regular file's name as a folder succeeded")
	}
	if err := backup.CheckDir(notDir); err == nil {
		t.Error("CheckDir accepted a regular file")
	}
}

// TestOpenRefuses: a backup whose checksum does not match, a truncated .gz and a damaged one
// are refused, with errors that say so.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	_, src := data(t, 256<<10)
	good, err := backup.Write(filepath.Join(dir, "good.db.gz"), src)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good.Path)
	sum, _ := os.ReadFile(good.Path + ".sha256")
	put := func(name string, b []byte, withSum bool) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if withSum {
			if err := os.WriteFile(p+".sha256", sum, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 0xff
	for _, tc := range []struct {
		name, path, want string
	}{
		{"checksum mismatch", put("mismatch.db.gz", flipped, true), "does not match its checksum"},
		{"truncated", put("cut.db.gz", raw[:len(raw)/2], false), "cut off"},
		{"damaged", put("damaged.db.gz", flipped, false), "decompress"},
		{"bad checksum file", put("badsum.db.gz", raw, false), "sha256sum's format"},
	} {
		if tc.name == "bad checksum file" {
			os.WriteFile(tc.path+".sha256", []byte("nope\n"), 0o600)
		}
		tmp := t.TempDir()
		_, _, _, err := backup.Open(tc.path, tmp)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
		if left := files(t, tmp); len(left) != 0 {
			t.Errorf("%s: left %v in the temporary folder", tc.name, left)
		}
	}
	var ce *backup.ChecksumError
	if _, _, _, err := backup.Open(filepath.Join(dir, "mismatch.db.gz"), dir); !errors.As(err, &ce) {
		t.Errorf("mismatch: %T, want *ChecksumError", err)
	}
}

// TestPrune: keep N leaves the N newest backups with their checksums and touches no other file.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	_, src := data(t, 1000)
	base := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	var names []string
	for i := range 5 {
		res, err := backup.WriteDir(dir, base.Add(time.Duration(i)*time.Hour), 0, src)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(res.Path))
	}
	others := []string{"notes.txt", "ffrtmp-latest.db.gz", "ffrtmp-20200101T000000Z.db"}
	for _, o := range others {
		os.WriteFile(filepath.Join(dir, o), nil, 0o600)
	}
	if _, err := backup.WriteDir(dir, base.Add(5*time.Hour), 2, src); err != nil {
		t.Fatal(err)
	}
	want := append([]string{}, others...)
	for _, n := range []string{names[4], backup.Name(base.Add(5 * time.Hour))} {
		want = append(want, n, n+".sha256")
	}
	slices.Sort(want)
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after keep 2:\n got %v\nwant %v", got, want)
	}
	if newest, ok, err := backup.Newest(dir); !ok || err != nil || !newest.Equal(base.Add(5*time.Hour)) {
		t.Errorf("Newest: %v %v %v", newest, ok, err)
	}
}

// TestScheduler: the first backup is due an interval after the newest one in the folder; a
// failure is observed and retried after RetryDelay; keep prunes.
func TestScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		_, good := data(t, 1000)
		var mu sync.Mutex
		fail := false
		var ok, failed int
		src := func(w io.Writer) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return 0, errors.New("disk full")
			}
			return good(w)
		}
		// A backup 40 minutes old: with a 1h interval the next is due in 20 minutes.
		if _, err := backup.WriteDir(dir, time.Now().Add(-40*time.Minute), 0, good); err != nil {
			t.Fatal(err)
		}
		s := &backup.Scheduler{Dir: dir, Interval: time.Hour, Keep: 2, Source: src, RetryDelay: 5 * time.Minute,
			Observe: func(_ backup.Result, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
				} else {
					ok++
				}
			}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		count := func() (int, int, int) {
			synctest.Wait()
			names, _ := backup.List(dir)
			mu.Lock()
			defer mu.Unlock()
			return len(names), ok, failed
		}
		time.Sleep(19 * time.Minute)
		if n, o, _ := count(); n != 1 || o != 0 {
			t.Fatalf("after 19m: %d backups, %d taken", n, o)
		}
		time.Sleep(2 * time.Minute)
		if n, o, _ := count(); n != 2 || o != 1 {
			t.Fatalf("after 21m: %d backups, %d taken", n, o)
		}
		mu.Lock()
		fail = true
		mu.Unlock()
		time.Sleep(time.Hour)
		if n, o, f := count(); n != 2 || o != 1 || f != 1 {
			t.Fatalf("after a failure: %d backups, %d taken, %d failed", n, o, f)
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		time.Sleep(5 * time.Minute)
		if n, o, _ := count(); n != 2 || o != 2 {
			t.Fatalf("after the retry: %d backups (keep 2), %d taken", n, o)
		}
		cancel()
		<-done
	})
}

// gzipOf is b compressed (for a test that needs a .gz not written by Write).
func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestOpenWithoutChecksum: a compressed backup with no checksum file opens, and says it had
// none; a name without .gz is decompressed by its content.
func TestOpenWithoutChecksum(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "copied.db")
	os.WriteFile(p, gzipOf([]byte("database")), 0o600)
	db, chk, cleanup, err := backup.Open(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if b, _ := os.ReadFile(db); string(b) != "database" || chk.SumFile != "" || !chk.Compressed {
		t.Errorf("opened %q, %+v", b, chk)
	}
}
