# subspace.h - build, test, demo, bench.
#   make            the `ss` tool and the examples (libc + libm only)
#   make test       every test in every promised build; ends with "N passed, N failed"
#   make demo       pre-train and fine-tune tiny MHA, MLA and MLA-o on built-in data: the table
#   make tour       the layer tour: one MLA-o attention layer, forward, backward, gradient check
#   make bench      `ss bench gemm` built with OpenMP (and OpenBLAS when installed)
#   make install    subspace.h to $(PREFIX)/include, ss to $(PREFIX)/bin
#   make check-mpi  `ss` built with MPI=1: several processes train as one (tests/mpi_equiv.sh)
#   make check-faults, check-static   kill/resume, fault injection; cppcheck, clang-tidy,
#                   valgrind (tests/checks.mk)
#   make fuzz       libFuzzer on every parser, FUZZ_SECONDS each (tests/fuzz/fuzz.mk)
# Switches: OPENMP=1 (threads), CBLAS=1 (OpenBLAS GEMM), SANITIZE=1 (ASan + UBSan),
#           MPI=1 (data-parallel `ss pretrain`/`ss finetune` under mpirun, built with mpicc into
#           build/mpi; needs libopenmpi-dev), ARCH= (default -march=native), CC=clang.
# Every target only wraps the one-line cc commands written at the top of each source file.

CC      ?= cc
ARCH    ?= -march=native
# GCC 12 and later vectorise at -O2 only the loops whose trip count they know (the "very cheap"
# cost model). subspace.h writes its hot element-wise loops in vector lanes itself; the dynamic
# model vectorises the small rest (residual adds and the like: about 2% of a training update on
# the Zen 4, the same bits). Compilers that do not take the flag go without it.
VECT    := $(shell $(CC) -Werror -fvect-cost-model=dynamic -x c -c /dev/null -o /dev/null \
                   >/dev/null 2>&1 && echo -fvect-cost-model=dynamic)
OPT     ?= -O2 $(VECT)
WARN     = -std=c99 -Wall -Wextra -pedantic
PREFIX  ?= /usr/local
ifeq ($(MPI),1)
BUILD   ?= build/mpi
endif
BUILD   ?= build
CFLAGS_ALL = $(WARN) $(OPT) $(ARCH) $(CFLAGS)
LDLIBS_ALL = -lm $(LDLIBS)

ifeq ($(OPENMP),1)
CFLAGS_ALL += -fopenmp
endif
ifeq ($(CBLAS),1)
CFLAGS_ALL += -DSS_USE_CBLAS
LDLIBS_ALL := -lopenblas $(LDLIBS_ALL)
endif
ifeq ($(MPI),1)
# tools/ddp.c turns from single-process stubs into MPI calls; the library itself stays MPI-free
MPICC   ?= mpicc
CC       = $(MPICC)
CFLAGS_ALL += -DSS_TOOL_MPI
endif
ifeq ($(SANITIZE),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g
endif

TOOL_SRC = $(filter-out tools/gen_unicode.c,$(wildcard tools/*.c))
TOOL_HDR = $(wildcard tools/*.h)
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/%,$(wildcard examples/*.c))

.PHONY: all test check-mpi demo tour bench install clean
all: $(BUILD)/ss $(EXAMPLES)

$(BUILD)/ss: $(TOOL_SRC) $(TOOL_HDR) subspace.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -o $@ $(TOOL_SRC) $(LDLIBS_ALL)

$(BUILD)/%: examples/%.c subspace.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

$(BUILD):
	mkdir -p $(BUILD)

test:
	CC="$(CC)" ARCH="$(ARCH)" bash tests/run.sh

# Data parallel: the MPI build against the default one, on 1 and 2 processes (fails, never skips,
# when MPI is missing: apt-get install libopenmpi-dev openmpi-bin).
check-mpi: $(BUILD)/ss
	$(MAKE) --no-print-directory MPI=1 BUILD=build/mpi build/mpi/ss
	bash tests/mpi_equiv.sh build/mpi/ss $(BUILD)/ss build/test/mpi

# The main job on built-in data: tiny MHA, MLA and MLA-o encoders pre-trained and fine-tuned alike.
demo: $(BUILD)/ss
	rm -rf $(BUILD)/demo
	OMP_WAIT_POLICY=PASSIVE $(BUILD)/ss compare configs/tiny_mha.json configs/tiny_mla.json \
		configs/tiny.json --out $(BUILD)/demo

tour: $(BUILD)/layer_tour
	$(BUILD)/layer_tour

# The benchmark build: OpenMP always, OpenBLAS beside the built-in kernel when it is installed.
BENCH_CBLAS := $(shell printf '#include <cblas.h>\nint main(void){return 0;}\n' | \
	$(CC) -x c - -o /dev/null -lopenblas >/dev/null 2>&1 && echo 1)
bench:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/bench OPENMP=1 CBLAS=$(BENCH_CBLAS) $(BUILD)/bench/ss
	OPENBLAS_THREAD_TIMEOUT=4 OMP_WAIT_POLICY=PASSIVE $(BUILD)/bench/ss bench gemm

install: $(BUILD)/ss
	install -d $(PREFIX)/include $(PREFIX)/bin
	install -m 644 subspace.h $(PREFIX)/include/subspace.h
	install -m 755 $(BUILD)/ss $(PREFIX)/bin/ss

clean:
	rm -rf $(BUILD)

# libFuzzer targets: make fuzz, make fuzz-smoke (tests/fuzz/README.md)
include tests/fuzz/fuzz.mk
# hardening checks: make check-faults, make check-static (tests/checks.mk)
include tests/checks.mk
