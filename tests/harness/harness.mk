# Test harness: the fake sysfs tree and kernel helper, the xenstored shim and
# its driver (start/stop a real xenstored, play domU N on its ring).

HARNESS_SRCS := $(filter-out tests/harness/xs-shim.c,$(wildcard tests/harness/*.c))
HARNESS_A := $(B)/tests/harness/libharness.a
# LD_PRELOADed into Debian's (uninstrumented) xenstored: never sanitized.
XS_SHIM := $(B)/tests/harness/xs-shim.so
XENSTORED ?= /usr/lib/xen-4.17/bin/xenstored

$(HARNESS_A): $(HARNESS_SRCS:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(XS_SHIM): tests/harness/xs-shim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHIM    $@")
	$(Q)$(CC) $(BASE_CFLAGS) -I$(SRCDIR)/lib/include -shared -o $@ $< -ldl

ALL_TARGETS += $(if $(HARNESS_SRCS),$(HARNESS_A)) \
               $(if $(wildcard tests/harness/xs-shim.c),$(XS_SHIM))
