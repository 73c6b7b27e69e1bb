# SPDX-License-Identifier: MIT
# Convenience targets around CMake. The build itself is CMakeLists.txt.
#
#   make demo      build (Release, build/release) and run the tour, or an example
#   make test      every test configuration (scripts/test.sh): release + ctest,
#                  clang ASan/UBSan checked build with fault injection + ctest,
#                  ThreadSanitizer on the threaded tests (tsan), valgrind, install check,
#                  clang-format-14 check (format), clang-tidy-14 (tidy)
#   make bench     benchmarks (bench/run.sh)
#   make coverage  line coverage of src/ from the tests (gcovr), fails under 90%
#   make format    clang-format-14 the C sources in place
#   make clean     remove build/
#
# `make test`, `make bench` and `make coverage` first run scripts/install-deps.sh,
# which installs missing tools with apt-get when run as root and does nothing when
# all are present.

JOBS ?= 2
BUILD_RELEASE := build/release
RELEASE_CONFIG := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
TOUR := $(BUILD_RELEASE)/tour/recycle-tour
EXAMPLE := $(BUILD_RELEASE)/examples/example_tree
FORMAT_DIRS := src include tests bench examples tour fuzz adapters
CLANG_FORMAT := clang-format-14

.PHONY: all build demo test test-release test-asan test-valgrind test-install \
        test-format test-tidy bench coverage format clean deps help

all: build

help:
	@sed -n '2,18s/^# \{0,1\}//p' Makefile

deps:
	bash scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD_RELEASE) $(RELEASE_CONFIG)
	cmake --build $(BUILD_RELEASE) -j $(JOBS)

# The tour when tour/ is part of the build; otherwise the tree example. The
# build is quiet: its output goes to $(DEMO_LOG), shown only if it fails.
DEMO_LOG := build/demo-build.log
demo:
	@mkdir -p build
	@echo "building recycle (Release, $(BUILD_RELEASE); log: $(DEMO_LOG))..."
	@{ cmake -S . -B $(BUILD_RELEASE) $(RELEASE_CONFIG) && \
	   cmake --build $(BUILD_RELEASE) -j $(JOBS); } >$(DEMO_LOG) 2>&1 || { \
	    cat $(DEMO_LOG) >&2; \
	    echo "demo: the build failed; its output is above and in $(DEMO_LOG)" >&2; exit 1; }
	@if [ -f tour/CMakeLists.txt ] && [ -x $(TOUR) ]; then \
	    echo "==> $(TOUR)"; exec $(TOUR); \
	fi; \
	if [ -f tour/CMakeLists.txt ]; then \
	    echo "demo: tour/ exists but $(TOUR) was not built (is add_subdirectory(tour) in CMakeLists.txt?); running the example instead"; \
	fi; \
	if [ -x $(EXAMPLE) ]; then \
	    echo "==> $(EXAMPLE)"; exec $(EXAMPLE); \
	fi; \
	echo "demo: neither $(TOUR) nor $(EXAMPLE) was built; nothing to run" >&2; \
	exit 1

test: deps
	JOBS=$(JOBS) bash scripts/test.sh

# Single stages of `make test`, for when one is all you need.
test-release test-asan test-tsan test-valgrind test-install test-format test-tidy:
	JOBS=$(JOBS) bash scripts/test.sh $(patsubst test-%,%,$@)

bench:
	bash scripts/install-deps.sh --bench
	@test -f bench/run.sh || { echo "bench: bench/run.sh not found" >&2; exit 1; }
	bash bench/run.sh

# gcc --coverage build in build/coverage, every CTest test, then gcovr.
coverage:
	bash scripts/install-deps.sh --coverage
	JOBS=$(JOBS) bash scripts/coverage.sh

# The pinned clang-format (Debian 12's), the one the format stage checks with.
format:
	@command -v $(CLANG_FORMAT) >/dev/null || { \
	    echo "format: $(CLANG_FORMAT) not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
	find $(wildcard $(FORMAT_DIRS)) -type f \( -name '*.c' -o -name '*.h' \) -print0 \
	    | xargs -0 -r $(CLANG_FORMAT) -i

clean:
	rm -rf build

# Issue 23: the randomized model test of shared objects, long (20 phases of
# 50000 operations per thread, five seeds), release build and ThreadSanitizer.
.PHONY: test-shared-long
test-shared-long:
	cmake -S . -B $(BUILD_RELEASE) $(RELEASE_CONFIG)
	cmake --build $(BUILD_RELEASE) -j $(JOBS) --target test_shared_model
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DRCY_TSAN=ON -DRCY_WERROR=ON -DRCY_BUILD_EXAMPLES=OFF
	cmake --build build/tsan -j $(JOBS) --target test_shared_model
	for seed in 1 2 3 4 5; do \
	    RCY_MODEL_SEED=$$seed RCY_MODEL_OPS=50000 RCY_MODEL_PHASES=20 \
	        $(BUILD_RELEASE)/tests/test_shared_model || exit 1; \
	    RCY_MODEL_SEED=$$seed RCY_MODEL_OPS=20000 RCY_MODEL_PHASES=5 \
	        build/tsan/tests/test_shared_model || exit 1; \
	done
