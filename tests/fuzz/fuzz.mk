# tests/fuzz/fuzz.mk - libFuzzer targets for every parser (tests/fuzz/README.md); the Makefile
# includes this file.
#   make fuzz                  build every target with clang into $(BUILD)/fuzz and run each for
#                              FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus
#   make fuzz-smoke            the same, 20 seconds a target (CI)
#   make fuzz FUZZ_TARGETS=tsv one target (the names: tests/fuzz/fuzz_<name>.c)
#   make fuzz-seeds            write the seed corpora again (tests/fuzz/make_seeds.c)
# Each target is one cc line: clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined ... -lm

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD    = $(BUILD)/fuzz
FUZZ_FLAGS    = -std=c99 -Wall -Wextra -pedantic -Werror -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DEPS     = subspace.h $(wildcard tests/fuzz/*.h) tools/config.c tools/config.h

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< -lm

$(FUZZ_BUILD):
	mkdir -p $@

fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

fuzz-seeds: | $(BUILD)
	$(CC) -std=c99 -O1 -o $(BUILD)/make_seeds tests/fuzz/make_seeds.c -lm
	$(BUILD)/make_seeds
