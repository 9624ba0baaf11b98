# tests/checks.mk - the hardening checks beyond `make test` (included by the Makefile):
#   make check-faults   crash safety and fault injection: tests/kill_resume.sh (SIGKILL at random
#                       moments and during checkpoint writes; the run loads, resumes, and ends bit
#                       for bit as an unbroken one) and tests/faults.sh (file-size limit, full disk,
#                       read-only run directory, missing and truncated inputs, allocation failure
#                       at every site). SEED=N TRIALS=N replay or widen the kill trials.
#   make check-static   cppcheck, clang-tidy-14 and valgrind memcheck: tests/static/run.sh
#                       (suppressions with their reasons: tests/static/*.supp, .clang-tidy)
# The soak test (20,000 updates, RSS sampled) is run by hand: tools/bench/soak.sh.
CHECKS_DIR = $(BUILD)/checks
.PHONY: check-faults check-static

check-faults: $(BUILD)/ss
	@rc=0; \
	bash tests/kill_resume.sh $(BUILD)/ss $(CHECKS_DIR)/kill_resume || rc=1; \
	bash tests/faults.sh $(BUILD)/ss $(CHECKS_DIR)/faults || rc=1; \
	exit $$rc

check-static:
	bash tests/static/run.sh $(CHECKS_DIR)/static
