module arca.dev/bench/loadgen

go 1.21
