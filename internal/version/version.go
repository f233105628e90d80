// Package version holds the build's version and commit, set by the Makefile through -ldflags.
package version

// Set at link time: -X github.com/ffrtmp/ffrtmp/internal/version.Version=...
var (
	Version = "dev"
	Commit  = ""
)
