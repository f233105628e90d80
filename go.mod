module github.com/ffrtmp/ffrtmp

go 1.26.0

require (
	github.com/asticode/go-astiav v0.39.0
	golang.org/x/sync v0.25.0
)

require github.com/asticode/go-astikit v0.42.0 // indirect
