# One-command entry points. Each installs missing Debian packages, configures and builds first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build test test-sanitize fuzz-replay fuzz python figures bench demo clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# The Python package (pybind11) in $(BUILD)/python: PYTHONPATH=$(BUILD)/python /usr/bin/python3 -c 'import jeffreys'
python: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target jeffreys_python
	@echo "jeffreys for Python: PYTHONPATH=$(BUILD)/python /usr/bin/python3  (or: cmake --install $(BUILD) --component python --prefix <venv>)"

# The studies' report figures (matplotlib), PNG and PDF, from the committed result tables alone.
figures: deps
	/usr/bin/python3 experiments/figures.py

# The whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer, in its own folder.
SANITIZE_BUILD ?= build-sanitize
SANITIZE_ASAN_OPTIONS ?= detect_leaks=1:check_initialization_order=1
$(SANITIZE_BUILD)/CMakeCache.txt:
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DJEFFREYS_SANITIZE=ON -DJEFFREYS_BUILD_BENCH=OFF

test-sanitize: deps $(SANITIZE_BUILD)/CMakeCache.txt
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 1500

# The committed fuzz corpus replayed under ASan + UBSan (what CI runs; the sanitizer build of the
# library, the application layer and the replay driver only).
fuzz-replay: deps $(SANITIZE_BUILD)/CMakeCache.txt
	cmake --build $(SANITIZE_BUILD) -j $(JOBS) --target jeffreys_fuzz
	cd $(SANITIZE_BUILD) && OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -R '^fuzz[.]corpus[.]'

# libFuzzer (clang-14, ASan + UBSan) on every reader of untrusted input, FUZZ_SECONDS each (default 60).
fuzz:
	@scripts/fuzz.sh

bench:
	@scripts/install-deps.sh
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target joint_step flow_micro jeffreys_exe
	@bench/run_bench.sh $(BUILD)

demo: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target jeffreys_exe
	OPENBLAS_NUM_THREADS=1 $(BUILD)/jeffreys demo

clean:
	rm -rf $(BUILD)
