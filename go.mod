module github.com/simple-comet/simple-comet

go 1.26

require go.uber.org/goleak v1.3.0 // indirect
