// Package api holds the master's wire types, shared by the master, the worker and the CLI,
// and a Go client for them. It needs no cgo.
package api
