# Unit tests (check): every tests/unit/test_*.c is one binary, linked with the
# static library and the test harness.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TEST_UNIT += $(UNIT_SRCS:%.c=$(B)/%)

$(B)/tests/unit/test_%: $(B)/tests/unit/test_%.o $(HARNESS_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB) $(PC_LIBS_TEST)
