# Makefile — a thin wrapper over CMake: the commands the README and .ci/run use.
# Trees: build/ (default), build-asan/ (ASan+UBSan), build-ucontext/ (ucontext backend).

BUILD      ?= build
ASAN_BUILD ?= build-asan
UCTX_BUILD ?= build-ucontext
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE      ?= cmake
CTEST      ?= ctest
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
BENCH_ARGS ?=
PRECOPY_ARGS ?=
LATENCY_ARGS ?=
PYTHON     ?= python3

# One target at a time: deps must finish before a configure, trees share nothing
# but the source, and each build is already parallel inside.
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory
.PHONY: all deps deps-test build demo test asan ucontext valgrind fuzz-smoke bench bench-precopy bench-latency install clean help

all: build

help:
	@echo "make deps      install missing Debian packages (as root)"
	@echo "make build     configure and build $(BUILD)/"
	@echo "make demo      deps + build + run $(BUILD)/bin/vmig demo"
	@echo "make test      deps + build + the whole ctest suite"
	@echo "make asan      $(ASAN_BUILD)/ with ASan+UBSan, unit tests + truncation interop"
	@echo "make ucontext  $(UCTX_BUILD)/ with the ucontext backend, coroutine tests"
	@echo "make fuzz-smoke  build + replay every fuzz harness's corpus (scripts/fuzz-campaign: libFuzzer runs)"
	@echo "make valgrind  coroutine tests of $(BUILD)/ under valgrind"
	@echo "make bench     build + every benchmark: co_switch, zero_scan, xbzrle, compress, multifd, precopy, monitor latency"
	@echo "               [BENCH_ARGS=--json to all; PRECOPY_ARGS=, LATENCY_ARGS= to one, e.g. --runs 1]"
	@echo "make bench-precopy   build + bench/precopy.py (vmig vs QEMU 7.2 vs loopback ceiling)"
	@echo "make bench-latency   build + bench/monitor_latency.py (QMP latency during migration)"
	@echo "make install   cmake --install $(BUILD) --prefix \$$PREFIX ($(PREFIX))"
	@echo "make clean     remove $(BUILD)/ $(ASAN_BUILD)/ $(UCTX_BUILD)/"

# configure-and-build TREE, EXTRA-CMAKE-ARGS
define cmake_build
	$(CMAKE) -S . -B $(1) $(2) $(CMAKE_FLAGS)
	$(CMAKE) --build $(1) -j$(JOBS)
endef

deps:
	@bash scripts/deps.sh

deps-test:
	@bash scripts/deps.sh test

build:
	$(call cmake_build,$(BUILD),)

demo: deps build
	./$(BUILD)/bin/vmig demo

test: deps-test build
	cd $(BUILD) && $(CTEST) --output-on-failure $(CTEST_FLAGS)

asan: deps
	$(call cmake_build,$(ASAN_BUILD),-DVMIG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
	cd $(ASAN_BUILD) && $(CTEST) --output-on-failure -L unit $(CTEST_FLAGS)
	# every prefix of a real QEMU stream through the ASan vmig (skips without QEMU)
	cd $(ASAN_BUILD) && $(CTEST) --output-on-failure -R interop/analyze_truncation $(CTEST_FLAGS)

# The fuzz harnesses' seed corpora, replayed by the plain build (make asan
# replays them under ASan+UBSan; scripts/fuzz-campaign runs libFuzzer).
fuzz-smoke: build
	cd $(BUILD) && $(CTEST) --output-on-failure -L fuzz $(CTEST_FLAGS)

ucontext: deps
	$(call cmake_build,$(UCTX_BUILD),-DVMIG_CO_BACKEND=ucontext)
	cd $(UCTX_BUILD) && $(CTEST) --output-on-failure -L coroutine $(CTEST_FLAGS)

valgrind: deps build
	bash scripts/valgrind.sh $(BUILD)/tests

# BENCH_ARGS goes to every benchmark (so only common flags: --json);
# PRECOPY_ARGS / LATENCY_ARGS to one python driver (--runs N, --size, --only ...).
bench: build
	./$(BUILD)/bench/co_switch $(BENCH_ARGS)
	./$(BUILD)/bench/zero_scan $(BENCH_ARGS)
	$(PYTHON) bench/xbzrle.py --build $(BUILD) $(BENCH_ARGS)
	$(PYTHON) bench/compress.py --build $(BUILD) $(BENCH_ARGS)
	$(PYTHON) bench/multifd.py --build $(BUILD) $(BENCH_ARGS)
	$(PYTHON) bench/precopy.py --build $(BUILD) $(BENCH_ARGS) $(PRECOPY_ARGS)
	$(PYTHON) bench/monitor_latency.py --build $(BUILD) $(BENCH_ARGS) $(LATENCY_ARGS)

bench-precopy: build
	$(PYTHON) bench/precopy.py --build $(BUILD) $(BENCH_ARGS) $(PRECOPY_ARGS)

bench-latency: build
	$(PYTHON) bench/monitor_latency.py --build $(BUILD) $(BENCH_ARGS) $(LATENCY_ARGS)

install: build
	DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(UCTX_BUILD)
