# libFuzzer targets: every tests/fuzz/fuzz_*.c defines LLVMFuzzerTestOneInput.
# `make fuzz` builds them with clang into build-fuzz/ and runs each for
# FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/<name>/ (if present).

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),fuzz)
FUZZ_TARGETS := $(FUZZ_SRCS:%.c=$(B)/%)

$(B)/tests/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(LIB_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS_LIB)

# fuzz_vf_stats_nl: the PF agent's rtnetlink decoding, which needs the
# daemon's library and libnl
$(B)/tests/fuzz/fuzz_vf_stats_nl.o: ALL_CFLAGS += $(DAEMON_CFLAGS)
$(B)/tests/fuzz/fuzz_vf_stats_nl: $(B)/tests/fuzz/fuzz_vf_stats_nl.o \
                                  $(DAEMON_A) $(LIB_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS_LIB) \
	    $(DAEMON_LIBS)

fuzz-build: $(FUZZ_TARGETS)

fuzz-run: $(FUZZ_TARGETS)
	$(Q)set -e; for t in $(FUZZ_TARGETS); do \
	    name=$$(basename $$t); corpus=$(B)/corpus/$$name; log=$(B)/$$name.log; \
	    mkdir -p $$corpus; \
	    seeds=tests/fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	    echo "== $$name: $(FUZZ_SECONDS) s"; \
	    if ! $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(B)/$$name- $$corpus $$seeds >$$log 2>&1; then \
	        tail -n 40 $$log; echo "$$name: FAILED (log: $$log)"; exit 1; \
	    fi; \
	    grep -E '^stat::(number_of_executed_units|new_units_added)' $$log; \
	done

endif

fuzz: deps
	$(Q)$(MAKE) --no-print-directory SANITIZE=fuzz fuzz-run
