module github.com/simple-comet/simple-comet

go 1.26
