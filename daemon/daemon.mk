# xenvfd: the TCB and PF-agent daemon (daemon/README.md). Its objects go
# into libxenvfd.a so that tests and benchmarks drive the same code
# in-process; main.c is only the binary's.

PC_DAEMON := libnl-3.0 libnl-route-3.0
DAEMON_CFLAGS = $(shell pkg-config --cflags $(PC_DAEMON))
DAEMON_LIBS = $(shell pkg-config --libs $(PC_DAEMON))

DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(B)/%.o)
DAEMON_A := $(B)/daemon/libxenvfd.a
XENVFD := $(B)/daemon/xenvfd

$(B)/daemon/%.o: ALL_CFLAGS += $(DAEMON_CFLAGS)

$(DAEMON_A): $(DAEMON_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(XENVFD): $(B)/daemon/main.o $(DAEMON_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB) $(DAEMON_LIBS)

ALL_TARGETS += $(XENVFD)

# Tests of the daemon: unit tests link its library; integration tests run
# the real binary (under the fake kernel), so they need both built.
DAEMON_UNIT := $(wildcard tests/unit/test_tcb_*.c tests/unit/test_agent_*.c)
DAEMON_INTEG := $(wildcard tests/integration/test_tcb_*.c \
                    tests/integration/test_agent_*.c \
                    tests/integration/test_daemon_*.c)

# the decoding of rtnetlink counters is tested on messages libnl builds
$(B)/tests/unit/test_agent_vf_stats.o: ALL_CFLAGS += $(DAEMON_CFLAGS)

$(DAEMON_UNIT:%.c=$(B)/%): $(B)/tests/unit/%: $(B)/tests/unit/%.o \
                          $(HARNESS_A) $(DAEMON_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB) $(DAEMON_LIBS) \
	    $(PC_LIBS_TEST)

$(DAEMON_INTEG:%.c=$(B)/%): $(B)/tests/integration/%: \
                           $(B)/tests/integration/%.o $(HARNESS_A) \
                           $(DAEMON_A) $(LIB_A) | $(XS_SHIM) $(XENVFD) \
                           $(FAKESYSFS_KERNEL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PC_LIBS_LIB) \
	    $(DAEMON_LIBS) $(PC_LIBS_TEST)

# Benchmarks (make bench): printed numbers, not timed tests.
BENCH_DAEMON_SRCS := $(wildcard tests/bench/bench_tcb_*.c \
                       tests/bench/bench_daemon_*.c)
BENCH_DAEMON := $(BENCH_DAEMON_SRCS:%.c=$(B)/%)
BENCH_TARGETS += $(BENCH_DAEMON)

$(BENCH_DAEMON): $(B)/tests/bench/%: $(B)/tests/bench/%.o $(DAEMON_A) \
                 $(HARNESS_A) $(LIB_A) | $(XS_SHIM) $(XENVFD) \
                 $(FAKESYSFS_KERNEL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PC_LIBS_LIB) \
	    $(DAEMON_LIBS) $(PC_LIBS_TEST)

# The top Makefile's bench target runs every BENCH_TARGETS entry.

.PHONY: install-daemon
install: install-daemon
install-daemon: $(XENVFD)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PREFIX)/lib/systemd/system \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(XENVFD) $(DESTDIR)$(SBINDIR)/xenvfd
	install -m 0644 docs/man/xenvfd.8 $(DESTDIR)$(MANDIR)/man8/xenvfd.8
	install -m 0644 daemon/systemd/*.service daemon/systemd/*.timer \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/
$(B)/tests/unit/test_tcb_flask: | $(FAKESYSFS_KERNEL)

# Fuzz targets of the daemon's own parsers (uevents, the state file) link
# its library too.
ifeq ($(SANITIZE),fuzz)
$(B)/tests/fuzz/fuzz_uevent $(B)/tests/fuzz/fuzz_tcb_state: \
    $(B)/tests/fuzz/%: $(B)/tests/fuzz/%.o $(DAEMON_A) $(LIB_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS_LIB) \
	    $(DAEMON_LIBS)
endif
