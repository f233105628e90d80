// Package config binds a command's flags to the environment and to a YAML config file
// (viper): a flag given on the command line wins over its environment variable, which wins
// over the file, which wins over the flag's default. A file key that names no flag is
// refused with the key's and the file's name, so a misspelt setting never goes unnoticed.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Sources says where else than the command line a command's flags may be set.
type Sources struct {
	// EnvPrefix names each flag's variable: with FFRTMP_MASTER, --max-retries is
	// FFRTMP_MASTER_MAX_RETRIES. Empty: the environment sets no flag.
	EnvPrefix string
	// ExtraEnv gives a flag a second variable, read when its own is not set (the seed's
	// names: api-key → MASTER_API_KEY).
	ExtraEnv map[string]string
	// File is the config file. When empty, FileFlag's value (from the command line or the
	// environment) names it; when that is empty too, there is no file.
	File string
	// FileFlag is the flag that names the config file ("config"); no file may set it.
	FileFlag string
	// Optional makes a File that does not exist no error: a default path the user did not
	// name.
	Optional bool
	// Section is the file's key whose mapping holds the flags ("run": run.slots); empty:
	// the flags are the file's top-level keys.
	Section string
	// Others are top-level keys of a shared file that other commands read (their sections):
	// not this command's to refuse. Only for a command without a Section.
	Others []string
}

// UnknownKeyError is a config file key that names no flag.
type UnknownKeyError struct {
	File string
	Key  string // as the file has it, with its section: "run.slot"
	// Example is a key the file may hold, the nearest to Key.
	Example string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("config %s: unknown key %q (keys are the flag names, e.g. %s)", e.File, e.Key, e.Example)
}

// Bind returns the settings of the flags in fs: each from the command line, else its
// environment variable, else the config file, else its default. It reads the file now and
// refuses one that holds a key no flag of fs has (an *UnknownKeyError).
func Bind(fs *pflag.FlagSet, src Sources) (*viper.Viper, error) {
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		return nil, err
	}
	if src.EnvPrefix != "" {
		var bindErr error
		fs.VisitAll(func(f *pflag.Flag) {
			names := []string{f.Name, EnvName(src.EnvPrefix, f.Name)}
			if e, ok := src.ExtraEnv[f.Name]; ok {
				names = append(names, e)
			}
			bindErr = errors.Join(bindErr, v.BindEnv(names...))
		})
		if bindErr != nil {
			return nil, bindErr
		}
	}
	path := src.File
	if path == "" && src.FileFlag != "" {
		path = v.GetString(src.FileFlag)
	}
	if path == "" {
		return v, nil
	}
	values, err := read(path, src)
	if err != nil || values == nil {
		return v, err
	}
	if err := check(path, fs, src, values); err != nil {
		return nil, err
	}
	for _, k := range src.Others {
		delete(values, k)
	}
	if err := v.MergeConfigMap(values); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return v, nil
}

// EnvName is the variable of flag name under prefix: FFRTMP_RUN and drain-timeout give
// FFRTMP_RUN_DRAIN_TIMEOUT.
func EnvName(prefix, name string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// read returns the settings path holds for the command: the file's top level, or its
// section; nil when there are none (no section, or an optional file that does not exist).
func read(path string, src Sources) (map[string]any, error) {
	f := viper.New()
	f.SetConfigFile(path)
	if ext := strings.TrimPrefix(filepath.Ext(path), "."); !slices.Contains(viper.SupportedExts, ext) {
		f.SetConfigType("yaml")
	}
	if err := f.ReadInConfig(); err != nil {
		if src.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if src.Section == "" {
		return f.AllSettings(), nil
	}
	raw := f.Get(src.Section)
	if raw == nil {
		return nil, nil
	}
	values, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("config %s: %q must be a mapping of flag names to values", path, src.Section)
	}
	return values, nil
}

// check refuses the first key (in sorted order) of values that names no flag of fs, or
// that nests keys under a flag that takes no mapping.
func check(path string, fs *pflag.FlagSet, src Sources, values map[string]any) error {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != src.FileFlag {
			names = append(names, f.Name)
		}
	})
	prefix := ""
	if src.Section != "" {
		prefix = src.Section + "."
	}
	unknown := func(key, near string) error {
		return &UnknownKeyError{File: path, Key: prefix + key, Example: prefix + nearest(near, names)}
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if src.Section == "" && slices.Contains(src.Others, k) {
			continue
		}
		f := fs.Lookup(k)
		if f == nil || k == src.FileFlag {
			return unknown(k, k)
		}
		if sub, ok := values[k].(map[string]any); ok && len(sub) > 0 && f.Value.Type() != "stringToString" {
			return unknown(k+"."+slices.Sorted(maps.Keys(sub))[0], k)
		}
	}
	return nil
}

// List reads a list setting. The command line and a YAML list give items; the environment
// gives one string, "a,b", that viper does not split: every item is split at its commas and
// trimmed, and empty ones are dropped.
func List(v *viper.Viper, key string) []string {
	var out []string
	for _, s := range v.GetStringSlice(key) {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Map reads a mapping setting (a stringToString flag). The command line and a YAML mapping
// give one as it is; the environment gives "k=v,k2=v2", which viper cannot read.
func Map(v *viper.Viper, key string) (map[string]string, error) {
	s, ok := v.Get(key).(string)
	if !ok {
		return v.GetStringMapString(key), nil
	}
	out := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--%s %q: want key=value pairs, e.g. zone=eu,tier=gpu", key, s)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}

// nearest is the name of names closest to key (fewest single-letter edits); the first on a
// tie.
func nearest(key string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		if d := editDistance(key, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, byte-wise (flag names are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
