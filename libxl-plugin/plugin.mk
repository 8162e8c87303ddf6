# libxenvf-xl.so, the libxl plugin loaded into xl (docs/plugin.md): the
# library, the link rules of its tests (they link its objects and libxl),
# its fuzz target and benchmark, and its installation.

# Everything but the interposer is plain code that tests link directly.
PLUGIN_CORE_SRCS := libxl-plugin/vfcfg.c libxl-plugin/pcidev.c \
                    libxl-plugin/conf.c libxl-plugin/gate.c \
                    libxl-plugin/reserve.c libxl-plugin/build.c \
                    libxl-plugin/log.c libxl-plugin/migrate.c \
                    libxl-plugin/iomove.c \
                    libxl-plugin/iomove_record.c
PLUGIN_CORE_OBJS := $(PLUGIN_CORE_SRCS:%.c=$(B)/%.o)
PLUGIN_OBJS := $(PLUGIN_CORE_OBJS) $(B)/libxl-plugin/interpose.o \
               $(B)/libxl-plugin/flaskmsg.o
PLUGIN_SO := $(B)/libxl-plugin/libxenvf-xl.so
# The entry points the plugin interposes, exported under the version xl
# binds them with on this Xen release (gen-map reads xl's symbol table).
PLUGIN_INTERPOSED := libxl_domain_create_new libxl_domain_create_restore \
                     libxl_domain_unpause libxl_device_pci_add \
                     libxl_domain_suspend libxl_domain_resume \
                     libxl_retrieve_domain_configuration \
                     xlu_cfg_init xlu_cfg_readdata xlu_cfg_get_long
PLUGIN_MAP := $(B)/libxl-plugin/libxenvf-xl.map
PC_LIBS_XL = $(shell pkg-config --libs $(PC_XL))
# libxenvf is linked in statically and hidden (the version script exports
# the interposed entry points only): nothing of ours leaks into xl.
PLUGIN_LIBS = $(PC_LIBS_XL) $(PC_LIBS_LIB) -ldl

$(PLUGIN_OBJS): CFLAGS += -fvisibility=hidden

ALL_TARGETS += $(PLUGIN_SO)

$(PLUGIN_MAP): libxl-plugin/gen-map $(XEN_BINDIR)/xl libxl-plugin/plugin.mk
	@mkdir -p $(dir $@)
	$(Q)$< $(XEN_BINDIR)/xl $(PLUGIN_INTERPOSED) >$@.new && mv $@.new $@

$(PLUGIN_SO): $(PLUGIN_OBJS) $(LIB_A) $(PLUGIN_MAP)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libxenvf-xl.so \
	    -Wl,--version-script=$(PLUGIN_MAP) -Wl,--no-undefined \
	    -Wl,--as-needed $(ALL_LDFLAGS) -o $@ $(PLUGIN_OBJS) $(LIB_A) \
	    $(PLUGIN_LIBS)

# ---- tests -----------------------------------------------------------------
# The generic unit/integration rules link libxenvf only; these link the
# plugin's objects and libxl too (explicit rules win over the patterns).

# The integration tests and the benchmark run the real xenvfd (as the TCB,
# on the fake sysfs tree: tests/harness/plugin-env.h). daemon.mk comes
# after this fragment, hence the literal path.
PLUGIN_TEST_LIBS = $(PC_LIBS_XL) $(PC_LIBS_LIB) $(PC_LIBS_TEST) -lpthread
PLUGIN_TEST_RUNS = $(XS_SHIM) $(B)/daemon/xenvfd $(FAKESYSFS_KERNEL)

PLUGIN_UNIT := $(B)/tests/unit/test_vfcfg $(B)/tests/unit/test_pcidev \
               $(B)/tests/unit/test_iomove \
               $(B)/tests/unit/test_gate_plan
$(PLUGIN_UNIT): %: %.o $(PLUGIN_CORE_OBJS) $(HARNESS_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PLUGIN_TEST_LIBS)

PLUGIN_INTEGRATION := $(B)/tests/integration/test_gate \
                      $(B)/tests/integration/test_plugin_build \
                      $(B)/tests/integration/test_iomove_flow
$(PLUGIN_INTEGRATION): %: %.o $(PLUGIN_CORE_OBJS) $(HARNESS_A) $(LIB_A) | \
                          $(PLUGIN_TEST_RUNS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PLUGIN_TEST_LIBS)

# The real xl with the plugin: fake-libxl.so stands in for the libxl calls
# that need a hypervisor (preloaded after the plugin, never sanitized: xl
# is not). Under ASan the test puts the ASan runtime first in LD_PRELOAD.
FAKE_LIBXL := $(B)/tests/integration/fake-libxl.so
# the libxl calls it stands in for, under xl's versions (gen-map)
FAKE_LIBXL_SYMS := libxl_ctx_alloc libxl_ctx_free libxl_childproc_setmode \
    libxl_get_version_info libxl_get_physinfo libxl_cpu_bitmap_alloc \
    libxl_read_file_contents libxl_domain_create_new \
    libxl_domain_create_restore libxl_domain_unpause libxl_domain_destroy \
    libxl_domain_qualifier_to_domid libxl_domid_to_name libxl_domain_info \
    libxl_device_pci_add libxl_userdata_store libxl_userdata_retrieve \
    libxl_userdata_unlink libxl_domain_suspend libxl_domain_resume
FAKE_LIBXL_MAP := $(B)/tests/integration/fake-libxl.map

$(FAKE_LIBXL_MAP): libxl-plugin/gen-map $(XEN_BINDIR)/xl libxl-plugin/plugin.mk
	@mkdir -p $(dir $@)
	$(Q)$< $(XEN_BINDIR)/xl $(FAKE_LIBXL_SYMS) >$@.new && mv $@.new $@
XL_TEST := $(B)/tests/integration/test_xl_plugin

$(FAKE_LIBXL): tests/integration/fake-libxl.c $(FAKE_LIBXL_MAP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHIM    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(PC_CFLAGS) -fvisibility=hidden -shared \
	    -Wl,--version-script=$(FAKE_LIBXL_MAP) -o $@ $< \
	    $(shell pkg-config --libs xenlight xenstore)

$(XL_TEST): %: %.o $(HARNESS_A) $(LIB_A) | $(PLUGIN_TEST_RUNS) \
               $(PLUGIN_SO) $(FAKE_LIBXL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PLUGIN_TEST_LIBS)

# make install-plugin / uninstall-plugin in a private dpkg root
TEST_SCRIPTS += $(SRCDIR)/tests/integration/test_xl_divert.sh
TEST_SCRIPT_DEPS += $(PLUGIN_SO)

ifeq ($(SANITIZE),1)
$(XL_TEST).o: CFLAGS += \
    -DASAN_RUNTIME='"$(shell $(CC) -print-file-name=libasan.so)"'
endif

ifeq ($(SANITIZE),fuzz)
$(B)/tests/fuzz/fuzz_vfcfg: $(B)/tests/fuzz/fuzz_vfcfg.o \
                            $(B)/libxl-plugin/vfcfg.o $(LIB_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS_XL) \
	    $(PC_LIBS_LIB)

$(B)/tests/fuzz/fuzz_iomove: $(B)/tests/fuzz/fuzz_iomove.o \
                             $(B)/libxl-plugin/iomove_record.o $(LIB_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS_LIB)
endif

# ---- benchmark (make bench) --------------------------------------------------

# plugin_bench, not bench_plugin: daemon.mk builds every bench_*.c with the
# daemon's objects. The top Makefile's bench runs every BENCH_TARGETS entry;
# make bench-plugin runs this one alone.
PLUGIN_BENCH := $(B)/tests/bench/plugin_bench
BENCH_TARGETS += $(PLUGIN_BENCH)

$(PLUGIN_BENCH): %: %.o $(PLUGIN_CORE_OBJS) $(HARNESS_A) $(LIB_A) | \
                    $(PLUGIN_TEST_RUNS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PLUGIN_TEST_LIBS)

.PHONY: bench-plugin
bench-plugin: $(PLUGIN_BENCH)
	$(Q)XENVF_BUILD=$(SRCDIR)/$(B) XENVF_SRCDIR=$(SRCDIR) \
	    XENVF_XS_SHIM=$(SRCDIR)/$(XS_SHIM) XENSTORED=$(XENSTORED) \
	    $(PLUGIN_BENCH)

# ---- installation ------------------------------------------------------------
# make install-plugin: the library, /etc/xen/xenvf-plugin.conf (kept if it
# exists), and the real xl diverted (dpkg-divert) to xl.xenvf-orig with a
# wrapper in its place that preloads the plugin: every xl on the host loads
# it, xendomains included. With DESTDIR, dpkg-divert works on DESTDIR's own
# dpkg database (--instdir/--admindir). make uninstall-plugin undoes it.

PLUGIN_DIR ?= $(LIBDIR)/xenvf
XL_DIR ?= $(XEN_BINDIR)
SYSCONFDIR ?= /etc

.PHONY: install-plugin uninstall-plugin
install-plugin: $(PLUGIN_SO)
	install -d $(DESTDIR)$(PLUGIN_DIR) $(DESTDIR)$(SYSCONFDIR)/xen
	install -m 0644 $(PLUGIN_SO) $(DESTDIR)$(PLUGIN_DIR)/libxenvf-xl.so
	[ -e $(DESTDIR)$(SYSCONFDIR)/xen/xenvf-plugin.conf ] || \
	    install -m 0644 libxl-plugin/xenvf-plugin.conf \
	        $(DESTDIR)$(SYSCONFDIR)/xen/xenvf-plugin.conf
	DESTDIR=$(DESTDIR) $(SRCDIR)/libxl-plugin/xl-divert install \
	    $(XL_DIR)/xl $(PLUGIN_DIR)/libxenvf-xl.so

uninstall-plugin:
	DESTDIR=$(DESTDIR) $(SRCDIR)/libxl-plugin/xl-divert uninstall $(XL_DIR)/xl
	rm -f $(DESTDIR)$(PLUGIN_DIR)/libxenvf-xl.so
	-rmdir $(DESTDIR)$(PLUGIN_DIR) 2>/dev/null
