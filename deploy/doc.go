// Package deploy holds what an operator installs beside the binaries — Prometheus
// configuration, recording and alert rules with their promtool tests, Grafana dashboards and
// provisioning, service units — and the tests that check those files against promtool, the
// code's metric names and doc/operations.md, and against a running farm scraped by a real
// Prometheus (TestFarmAgainstPrometheus). It has no Go code of its own.
package deploy
