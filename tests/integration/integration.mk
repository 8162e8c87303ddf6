# Integration tests: the real xenstored (under tests/harness/xs-shim.so), our
# library, daemon and CLI against it, and the fake sysfs tree.

INTEGRATION_SRCS := $(wildcard tests/integration/test_*.c)
TEST_INTEGRATION += $(INTEGRATION_SRCS:%.c=$(B)/%)

$(B)/tests/integration/test_%: $(B)/tests/integration/test_%.o $(HARNESS_A) \
                               $(LIB_A) | $(XS_SHIM)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PC_LIBS_LIB) \
	    $(PC_LIBS_TEST)

# test_agent_net decodes the rtnetlink messages with libnl's own parsers.
$(B)/tests/integration/test_agent_net.o: ALL_CFLAGS += $(DAEMON_CFLAGS)
