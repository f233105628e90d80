package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// SchemaVersion is the version of the database this code writes: what every record and index
// looks like once the migrations up to it have run. Open migrates a database of an older
// version (down to oldestSchema) and refuses a newer one.
//
//	2: a job is a binary header plus its API JSON (record.go).
//	3: every job is in the tenant index (indexTenants).
const SchemaVersion = 3

// oldestSchema is the oldest version Open can migrate. Schema 1 (a job stored as plain JSON)
// predates the record header; no migration rewrites it.
const oldestSchema = 2

// Keys of the meta bucket.
var (
	metaSchema    = []byte("schema")    // ASCII decimal, as schema 2 wrote it: older binaries read it
	metaMigrating = []byte("migrating") // the step under way and where it stopped (progress JSON)
)

// metaMigrated is the key under which step to's completion is recorded.
func metaMigrated(to int) []byte { return fmt.Appendf(nil, "migrated/%03d", to) }

// A migration takes the database from version to-1 to to.
type migration struct {
	to   int
	name string
	// step does the next part of the migration in tx, from cursor on (nil: the beginning),
	// doing at most about batch units of work (records, keys), and returns where the next
	// call goes on (nil: done). Each call runs in a transaction of its own with the cursor it
	// returns, so an interrupted migration resumes after the last batch committed; a step
	// that is cheap whatever the size of the database ignores batch and returns nil.
	step func(tx *bolt.Tx, cursor []byte, batch int) (next []byte, err error)
}

// migrations are the steps from oldestSchema to SchemaVersion, in order: to is the previous
// one's plus one, the last is SchemaVersion. A released step never changes (databases out
// there are half-way through it); a new layout adds a step and bumps SchemaVersion.
func migrations() []migration {
	return []migration{
		{to: 3, name: "index jobs by tenant", step: indexTenants},
	}
}

// migrationBatch is how many records a step handles per transaction at most: a fraction of a
// second of work for a step over keys, so a database of millions of jobs never needs one
// giant transaction and an interrupted step loses little.
const migrationBatch = 100_000

// progress is a step under way, kept in the meta bucket with each batch.
type progress struct {
	To      int       `json:"to"`
	Name    string    `json:"name"`
	Cursor  []byte    `json:"cursor"`
	Batches int       `json:"batches"`
	Started time.Time `json:"started"`
}

// stepRecord is a migration step that ran, as recorded in the database (meta "migrated/NNN").
type stepRecord struct {
	To       int       `json:"to"`
	Name     string    `json:"name"`
	Batches  int       `json:"batches"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// SchemaError says the database has a version this code cannot open.
type SchemaError struct {
	Version int // the database's
	Known   int // the newest this code knows (SchemaVersion)
	Oldest  int // the oldest it migrates
}

func (e *SchemaError) Error() string {
	if e.Version > e.Known {
		return fmt.Sprintf("database schema %d is newer than this ffrtmp master (knows %d): upgrade the binary", e.Version, e.Known)
	}
	return fmt.Sprintf("database schema %d is older than this ffrtmp master can migrate (%d and later)", e.Version, e.Oldest)
}

// schemaOf reads the database's version; fresh is true for a new database: one without a
// version and without jobs (every version wrote both in one transaction; a file with jobs but
// no version is not a master's).
func schemaOf(tx *bolt.Tx) (version int, fresh bool, err error) {
	var v []byte
	if meta := tx.Bucket(bMeta); meta != nil {
		v = meta.Get(metaSchema)
	}
	if v == nil {
		if tx.Bucket(bJobs) == nil {
			return 0, true, nil
		}
		return 0, false, fmt.Errorf("jobs but no schema version: not a master database")
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, false, fmt.Errorf("database schema %q is not a version number", v)
	}
	return n, false, nil
}

// migrate brings db to the last version of steps, one step after the other, each in batches
// of its own transactions, and returns the steps it ran. A fresh database is created at that
// version without running any. A database newer than steps know is a *SchemaError and is not
// touched.
func migrate(db *bolt.DB, steps []migration, batch int, log *slog.Logger) ([]stepRecord, error) {
	if batch <= 0 {
		batch = migrationBatch
	}
	known, oldest := oldestSchema, oldestSchema
	if len(steps) > 0 {
		known = steps[len(steps)-1].to
		oldest = steps[0].to - 1
	}
	var version int
	var fresh bool
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		version, fresh, err = schemaOf(tx)
		return err
	})
	if err == nil && fresh {
		// A new database starts at the newest version: there is nothing to migrate.
		version = known
		err = db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists(bMeta)
			if err != nil {
				return err
			}
			return meta.Put(metaSchema, strconv.AppendInt(nil, int64(known), 10))
		})
	}
	switch {
	case err != nil:
		return nil, err
	case version > known || version < oldest:
		return nil, &SchemaError{Version: version, Known: known, Oldest: oldest}
	case version == known:
		return nil, nil
	}
	log.Info("migrating database schema", "from", version, "to", known)
	var ran []stepRecord
	for _, m := range steps {
		if m.to <= version {
			continue
		}
		start := time.Now()
		done, err := runStep(db, m, batch, log)
		if err != nil {
			return ran, fmt.Errorf("migrate database schema to %d (%s): %w", m.to, m.name, err)
		}
		log.Info("migrated database schema", "to", m.to, "step", m.name, "batches", done.Batches,
			"duration", time.Since(start).Round(time.Millisecond))
		ran = append(ran, done)
	}
	return ran, nil
}

// runStep runs m to the end, one transaction per batch, resuming where an interrupted run of
// the same step stopped.
func runStep(db *bolt.DB, m migration, batch int, log *slog.Logger) (stepRecord, error) {
	for {
		start := time.Now()
		var p progress
		var done *stepRecord
		err := db.Update(func(tx *bolt.Tx) error {
			var err error
			p, done, err = stepBatch(tx, m, batch)
			return err
		})
		if err != nil {
			return stepRecord{}, err
		}
		if done != nil {
			return *done, nil
		}
		log.Debug("database migration batch", "to", m.to, "step", m.name, "batches", p.Batches,
			"duration", time.Since(start).Round(time.Millisecond))
	}
}

// stepBatch runs one batch of m in tx from the progress saved in the meta bucket, and saves
// the progress after it, or, when the step is done, records it and moves the schema version
// on (done is then the record).
func stepBatch(tx *bolt.Tx, m migration, batch int) (p progress, done *stepRecord, err error) {
	meta := tx.Bucket(bMeta)
	p = progress{To: m.to, Name: m.name, Started: time.Now().UTC()}
	if v := meta.Get(metaMigrating); v != nil {
		var was progress
		if err := json.Unmarshal(v, &was); err != nil {
			return p, nil, fmt.Errorf("decode the migration under way: %w", err)
		}
		if was.To != m.to {
			return p, nil, fmt.Errorf("the migration under way is to schema %d, not %d", was.To, m.to)
		}
		p = was
	}
	next, err := m.step(tx, p.Cursor, batch)
	if err != nil {
		return p, nil, err
	}
	p.Batches++
	if next != nil {
		p.Cursor = bytes.Clone(next) // next may point into the page, valid only in tx
		v, err := json.Marshal(p)
		if err != nil {
			return p, nil, err
		}
		return p, nil, meta.Put(metaMigrating, v)
	}
	rec := &stepRecord{To: m.to, Name: m.name, Batches: p.Batches, Started: p.Started, Finished: time.Now().UTC()}
	v, err := json.Marshal(rec)
	if err != nil {
		return p, nil, err
	}
	if err := meta.Put(metaMigrated(m.to), v); err != nil {
		return p, nil, err
	}
	if err := meta.Delete(metaMigrating); err != nil {
		return p, nil, err
	}
	return p, rec, meta.Put(metaSchema, strconv.AppendInt(nil, int64(m.to), 10))
}

// indexTenants (schema 3) files every job under api.DefaultTenant in a tenant index the
// database does not have: one written before tenants existed, whose jobs carry no tenant. A
// schema-2 database written since has the index complete (every job write keeps it) and the
// step does nothing. Only keys are walked: no job is decoded or rewritten.
func indexTenants(tx *bolt.Tx, cursor []byte, batch int) ([]byte, error) {
	if cursor == nil {
		if tx.Bucket(bByTenant) != nil {
			return nil, nil
		}
		if _, err := tx.CreateBucket(bByTenant); err != nil {
			return nil, err
		}
	}
	jobs := tx.Bucket(bJobs)
	if jobs == nil {
		return nil, nil
	}
	idx := tx.Bucket(bByTenant)
	idx.FillPercent = 0.9 // keys arrive in order
	c := jobs.Cursor()
	k, _ := c.First()
	if cursor != nil {
		k, _ = c.Seek(cursor)
	}
	for n := 0; k != nil; k, _ = c.Next() {
		if n == batch {
			return k, nil
		}
		if err := idx.Put(idxKey(api.DefaultTenant, k), nil); err != nil {
			return nil, err
		}
		n++
	}
	return nil, nil
}
