module github.com/ffrtmp/ffrtmp/api

go 1.26.0
