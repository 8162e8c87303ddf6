# Test harness: the fake sysfs tree and kernel helper, the xenstored shim and
# its driver (start/stop a real xenstored, play domU N on its ring).

HARNESS_SRCS := $(filter-out tests/harness/xs-shim.c \
                    tests/harness/fakesysfs-kernel.c,$(wildcard tests/harness/*.c))
HARNESS_A := $(B)/tests/harness/libharness.a
# LD_PRELOADed into Debian's (uninstrumented) xenstored: never sanitized.
XS_SHIM := $(B)/tests/harness/xs-shim.so
XENSTORED ?= $(XEN_BINDIR)/xenstored

$(HARNESS_A): $(HARNESS_SRCS:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(XS_SHIM): tests/harness/xs-shim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHIM    $@")
	$(Q)$(CC) $(BASE_CFLAGS) -I$(SRCDIR)/lib/include \
	    -DXENVF_XEN_VERSION=$(XEN_VERSION_NUM) -shared -o $@ $< -ldl

# The kernel stand-in for the fake sysfs tree, LD_PRELOADed into test
# binaries (sanitized or not) and into daemons under test: never sanitized,
# and with its own copy of fakesysfs.c, hidden, so that it binds to itself.
FAKESYSFS_KERNEL := $(B)/tests/harness/fakesysfs-kernel.so
FAKESYSFS_KERNEL_SRCS := tests/harness/fakesysfs-kernel.c \
                         tests/harness/fakesysfs.c

$(FAKESYSFS_KERNEL): $(FAKESYSFS_KERNEL_SRCS) tests/harness/fakesysfs.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHIM    $@")
	$(Q)$(CC) $(BASE_CFLAGS) -fvisibility=hidden -shared -o $@ \
	    $(FAKESYSFS_KERNEL_SRCS) -ldl -lpthread

# Tests that re-exec themselves under it need it built (order-only: it is
# not linked in).
$(B)/tests/unit/test_sriov: | $(FAKESYSFS_KERNEL)

ALL_TARGETS += $(if $(HARNESS_SRCS),$(HARNESS_A)) \
               $(if $(wildcard tests/harness/xs-shim.c),$(XS_SHIM)) \
               $(if $(wildcard tests/harness/fakesysfs-kernel.c),$(FAKESYSFS_KERNEL))
