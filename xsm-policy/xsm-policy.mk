# The XSM/FLASK policy (docs/xsm.md): our module (xsm-policy/xenvf.te) in
# Xen's own policy, whose sources come from Debian through apt and are cached
# (xsm-policy/fetch-xen-src); the label generator; the policy tests.
#
#   make policy       $(B)/xsm-policy/xenpolicy (also: make -C xsm-policy)
#
# The policy is built for the tests, not by `make all`: it needs apt.

XSM_POLICY := $(B)/xsm-policy/xenpolicy
XSM_POLICY_SRCS := $(addprefix xsm-policy/,xenvf.te xenvf.if modules.conf \
                     build-policy fetch-xen-src)
FLASK_LABELS := $(B)/tools/xenvf-flask-labels
POLICY_UNIT := $(B)/tests/policy/test_flask

ALL_TARGETS += $(FLASK_LABELS)
TEST_UNIT += $(POLICY_UNIT)
TEST_SCRIPTS += tests/policy/run-policy-tests
TEST_SCRIPT_DEPS += $(XSM_POLICY) $(FLASK_LABELS)

.PHONY: policy
policy: $(XSM_POLICY)

$(XSM_POLICY): $(XSM_POLICY_SRCS)
	@$(if $(Q),echo "  POLICY  $@")
	$(Q)xsm-policy/build-policy --out $(B)/xsm-policy

$(FLASK_LABELS): $(B)/tools/xenvf-flask-labels.o $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB)

$(POLICY_UNIT): $(B)/tests/policy/test_flask.o $(HARNESS_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB) $(PC_LIBS_TEST)
