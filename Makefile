# Makefile — the two quick-start commands (make run, make test) and the developer targets.
# CMake does the building; this file only strings the steps together.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
BENCH      ?=

.PHONY: all build deps run test unit it e2e screenshots asan lint fuzz bench clean node_modules format

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

node_modules: package.json
	@if [ ! -d node_modules ] || [ package.json -nt node_modules ] || [ package-lock.json -nt node_modules ]; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch node_modules; fi

run: deps build
	@bash scripts/run.sh

# Everything: unit tests, black-box tests on SQLite and PostgreSQL, then both again
# under AddressSanitizer + UBSan.
test: deps build node_modules
	@bash scripts/test.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

it: build node_modules
	node tests/it/run.mjs

e2e: build node_modules
	bash scripts/e2e.sh

screenshots: build node_modules
	bash scripts/screenshots.sh

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKZ_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)
	KIZUNA_BIN=$(CURDIR)/$(ASAN_BUILD)/kizuna node tests/it/run.mjs

lint: build
	@bash scripts/lint.sh

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKZ_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) -- --no-print-directory
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps build
	@bash bench/run.sh $(BENCH)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tools/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
