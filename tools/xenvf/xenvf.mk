# The xenvf CLI (tools/xenvf, docs/xenvf.md): one binary linked with the
# static library, so it runs from the build tree in tests.

XENVF_CLI_SRCS := $(wildcard tools/xenvf/*.c)
XENVF_CLI_OBJS := $(XENVF_CLI_SRCS:%.c=$(B)/%.o)
XENVF_CLI := $(B)/tools/xenvf/xenvf

ALL_TARGETS += $(XENVF_CLI)

$(XENVF_CLI_OBJS): CFLAGS += -DXENVF_VERSION='"$(XENVF_VERSION)"'

$(XENVF_CLI): $(XENVF_CLI_OBJS) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB)

# The CLI's integration tests run the binary as a child (order-only: it is
# not linked in).
$(patsubst %.c,$(B)/%,$(wildcard tests/integration/test_cli_*.c)): \
    | $(XENVF_CLI)
# and one runs it against the real xenvfd, under the fake kernel
$(B)/tests/integration/test_cli_daemon: | $(B)/daemon/xenvfd \
    $(B)/tests/harness/fakesysfs-kernel.so

# Its bash completion, sourced in bash by a script test.
TEST_SCRIPTS += $(SRCDIR)/tests/integration/test_completion.sh

BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions

.PHONY: install-cli
install: install-cli
install-cli: $(XENVF_CLI)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(XENVF_CLI) $(DESTDIR)$(SBINDIR)/xenvf
	install -m 0644 docs/man/xenvf.1 $(DESTDIR)$(MANDIR)/man1/xenvf.1
	install -m 0644 tools/xenvf/xenvf.bash-completion \
	    $(DESTDIR)$(BASHCOMPDIR)/xenvf
