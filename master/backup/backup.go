// Package backup writes and reads the master's backup files: a bbolt database (what
// GET /v1/backup streams), gzip-compressed when its name ends in .gz, that appears whole or
// not at all, with a checksum file beside it in sha256sum's format (so `sha256sum -c` checks
// it); a folder of them named by time and pruned to the newest N; the schedule that takes
// them (Scheduler); and Open, which verifies a backup file and gives back the plain database
// a restore puts in place.
package backup

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Source writes a database snapshot to w and returns the bytes written (store.Store.Backup
// without its size callback; the API client's Backup).
type Source func(w io.Writer) (int64, error)

// SumSuffix ends the name of a backup's checksum file.
const SumSuffix = ".sha256"

// timeLayout is the time in a backup's name: UTC, sortable as text.
const timeLayout = "20060102T150405Z"

// nameRe matches the backups Name makes, and nothing else in a folder: only these are pruned.
var nameRe = regexp.MustCompile(`^ffrtmp-(\d{8}T\d{6}Z)\.db\.gz$`)

// Name is the file name of a backup taken at t in a backup folder: ffrtmp-<UTC time>.db.gz.
func Name(t time.Time) string { return "ffrtmp-" + t.UTC().Format(timeLayout) + ".db.gz" }

// Result says what Write wrote.
type Result struct {
	Path     string // the backup file
	Size     int64  // its size on disk
	DBBytes  int64  // the database's size (before compression)
	SHA256   string // hex SHA-256 of the file, as its checksum file holds it
	Duration time.Duration
}

// Write takes a backup from src into path (gzip-compressed when path ends in .gz) and writes
// its checksum file, path+".sha256". Both are written under temporary names in path's folder,
// fsynced and renamed into place, then the folder is fsynced: a crash or an error leaves the
// previous files or the new ones, never part of one. An existing path is not overwritten.
func Write(path string, src Source) (res Result, err error) {
	start := time.Now()
	res.Path = path
	if _, err := os.Lstat(path); err == nil {
		return res, fmt.Errorf("backup %s: the file exists", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return res, fmt.Errorf("backup %s: %w", path, err)
	}
	tmp := f.Name()
	sumTmp := ""
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			if sumTmp != "" {
				os.Remove(sumTmp)
			}
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if res.DBBytes, err = writeBody(cw, src, strings.HasSuffix(path, ".gz")); err != nil {
		return res, fmt.Errorf("backup %s: %w", path, err)
	}
	if err = f.Sync(); err == nil {
		err = f.Close()
	}
	if err != nil {
		return res, fmt.Errorf("backup %s: %w", path, err)
	}
	res.Size, res.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
	if sumTmp, err = writeSum(dir, base, res.SHA256); err != nil {
		return res, fmt.Errorf("backup %s: checksum: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("backup %s: %w", path, err)
	}
	if err = os.Rename(sumTmp, path+SumSuffix); err != nil {
		os.Remove(path)
		return res, fmt.Errorf("backup %s: checksum: %w", path, err)
	}
	if err = syncDir(dir); err != nil {
		os.Remove(path)
		os.Remove(path + SumSuffix)
		return res, fmt.Errorf("backup %s: %w", path, err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// writeBody writes src to w, through gzip when gz, and returns the database's bytes.
func writeBody(w io.Writer, src Source, gz bool) (int64, error) {
	if !gz {
		return src(w)
	}
	// The fastest level: the snapshot is read inside a database read transaction, which should
	// not stay open longer than it must; a bbolt file's free pages compress well at any level.
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return 0, err
	}
	n, err := src(zw)
	if err != nil {
		return n, err
	}
	return n, zw.Close()
}

// writeSum writes the checksum file of the backup named base into a temporary file in dir,
// fsynced, and returns its name.
func writeSum(dir, base, sum string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+SumSuffix+".tmp-*")
	if err != nil {
		return "", err
	}
	// sha256sum's text format: the hex digest, two spaces, the file's name.
	_, err = fmt.Fprintf(f, "%s  %s\n", sum, base)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// WriteDir takes a backup into dir, named Name(now), then prunes dir to its keep newest
// backups (0: keep all). When the backup is written but the prune fails, the error is a
// *PruneError.
func WriteDir(dir string, now time.Time, keep int, src Source) (Result, error) {
	res, err := Write(filepath.Join(dir, Name(now)), src)
	if err != nil {
		return res, err
	}
	if keep > 0 {
		if _, err := Prune(dir, keep); err != nil {
			return res, &PruneError{Err: err}
		}
	}
	return res, nil
}

// PruneError is a backup written whose older backups could not be removed.
type PruneError struct{ Err error }

func (e *PruneError) Error() string {
	return "the backup was taken, but older backups could not be removed: " + e.Err.Error()
}
func (e *PruneError) Unwrap() error { return e.Err }

// List returns the backups in dir (the files Name makes), oldest first.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && nameRe.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the names hold the UTC time in a sortable form
	return names, nil
}

// Newest is the time of the newest backup in dir, false when it holds none.
func Newest(dir string) (time.Time, bool, error) {
	names, err := List(dir)
	if err != nil || len(names) == 0 {
		return time.Time{}, false, err
	}
	t, err := time.Parse(timeLayout, nameRe.FindStringSubmatch(names[len(names)-1])[1])
	return t, err == nil, err
}

// staleTemp is the age after which a temporary file Write left (the process was killed
// while it wrote) is removed by Prune; no backup takes that long.
const staleTemp = 24 * time.Hour

// Prune removes from dir all but the keep newest backups (keep > 0), each with its checksum
// file, and temporary files of Write older than a day. Files not named as Name names them
// are never touched. It returns the backups removed.
func Prune(dir string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, fmt.Errorf("prune %s: keep %d: want 1 or more", dir, keep)
	}
	names, err := List(dir)
	if err != nil {
		return nil, fmt.Errorf("prune %s: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, name := range names[:max(len(names)-keep, 0)] {
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
		if err := os.Remove(p + SumSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".ffrtmp-*.db.gz*.tmp-*"))
	for _, p := range tmps {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
			_ = os.Remove(p)
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("prune %s: %w", dir, errors.Join(errs...))
	}
	return removed, syncDir(dir)
}

// ChecksumError is a backup whose content does not match its checksum file.
type ChecksumError struct {
	File, SumFile string
	Want, Got     string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s does not match its checksum (%s says %s, the file's is %s): the file is damaged or not the one the checksum was made for",
		e.File, e.SumFile, e.Want, e.Got)
}

// Checked says how Open verified a backup.
type Checked struct {
	// SumFile is the checksum file the backup matched; "" when there was none.
	SumFile    string
	Compressed bool
}

// Open verifies the backup at path and returns a plain database file to restore from: the
// checksum file beside it (path+".sha256") must match when there is one (a *ChecksumError
// otherwise); a gzip file (by its content, whatever its name) is decompressed into a
// temporary file in tmpDir, fsynced, and a cut-off or damaged stream is refused. The caller
// removes the returned file when it is not path (cleanup does). Open does not check the
// database itself: store.CheckBackup does.
func Open(path, tmpDir string) (db string, chk Checked, cleanup func(), err error) {
	cleanup = func() {}
	if chk.SumFile, err = verifySum(path); err != nil {
		return "", chk, cleanup, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", chk, cleanup, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return path, chk, cleanup, nil
	}
	chk.Compressed = true
	out, err := os.CreateTemp(tmpDir, "."+filepath.Base(path)+".restore-*")
	if err != nil {
		return "", chk, cleanup, fmt.Errorf("decompress %s: %w", path, err)
	}
	cleanup = func() { os.Remove(out.Name()) }
	zr, err := gzip.NewReader(br)
	if err == nil {
		_, err = io.Copy(out, zr)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("the compressed stream is cut off (truncated file)")
		}
		return "", chk, func() {}, fmt.Errorf("decompress %s: %w", path, err)
	}
	return out.Name(), chk, cleanup, nil
}

// verifySum checks path against path+".sha256" and returns that file's name, or "" when
// there is none.
func verifySum(path string) (string, error) {
	sumFile := path + SumSuffix
	b, err := os.ReadFile(sumFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if len(want) != sha256.Size*2 {
		return "", fmt.Errorf("checksum file %s: not in sha256sum's format (want \"<64 hex digits>  <file>\")", sumFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return "", &ChecksumError{File: path, SumFile: sumFile, Want: strings.ToLower(want), Got: got}
	}
	return sumFile, nil
}

// CheckDir says whether dir is a folder a backup can be written to: it exists (or is
// created) and a file can be created in it.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ffrtmp-write-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
