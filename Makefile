# The README's commands. `make run` serves on 127.0.0.1:5000 with data in ./data;
# `make test` runs the whole suite (unit, black-box HTTP, real clients, conformance, crash).
JOBS ?= $(shell nproc)
ADDR ?= 127.0.0.1:5000
ROOT ?= ./data

.PHONY: run test build release debug deps test-deps bench-deps bench-tools unit clean bench

run: release
	./build/release/arca serve --addr $(ADDR) --root $(ROOT)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build/release/build.ninja: | deps
	cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF

build/debug/build.ninja: | test-deps
	cmake -S . -B build/debug -G Ninja -DCMAKE_BUILD_TYPE=Debug -DARCA_SANITIZE=ON

release: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS) --target arca

debug: test-deps build/debug/build.ninja
	cmake --build build/debug -j $(JOBS)

build: release

unit: debug
	cd build/debug && ctest --output-on-failure -j $(JOBS) -LE blackbox

test: debug
	scripts/go-tools.sh >/dev/null
	cd build/debug && ctest --output-on-failure -j $(JOBS)

bench-deps:
	@scripts/deps.sh bench

# Peers Debian does not package (CNCF Distribution v3), built from the Go module proxy into
# the go-tools cache; only `make bench` needs them.
bench-tools: bench-deps
	@bench/tools.sh >/dev/null

# Arca (Release) and CNCF Distribution 2.8 and v3 side by side, then the scale-out section (one
# replica on SQLite, one and three on PostgreSQL and Ceph RGW); reports in bench/results/.
bench: bench-deps bench-tools release
	mkdir -p build/bench
	cd bench/loadgen && PATH="$$(../../scripts/ensure-go.sh | tail -n 1):$$PATH" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -o ../../build/bench/loadgen .
	python3 bench/run.py $(BENCH_ARGS)
	python3 bench/scaleout.py $(SCALEOUT_ARGS)

clean:
	rm -rf build
