// Package harness is `ffrtmp bench`: scenarios as data, each run N times through the engine
// with its frame-level metrics, CPU, memory, energy and quality measured, density search,
// the same cases through the ffmpeg program for comparison, farm mode against a master, and
// the reports (results.json, results.csv, summary.md, SVG charts) with a baseline gate.
package harness
