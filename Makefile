# xenvf top-level Makefile: one non-recursive build; each part adds its own
# rules in a fragment (lib/lib.mk, tests/unit/unit.mk, ...) so the layout of
# the tree is the layout of the build.
#
#   make deps         install the Debian packages the build and tests need
#   make              build everything into build/
#   make check        deps + build + every test tier that exists
#   make check SANITIZE=1   the same under ASan+UBSan, into build-san/
#   make check-platforms    make check here (bookworm, Xen 4.17) and in a
#                     Debian trixie root (Xen 4.20) made from the mirror
#                     (tools/platform), into build-trixie/
#   make fuzz         libFuzzer targets (clang), FUZZ_SECONDS each
#   make install      DESTDIR/PREFIX aware
#   make lint         clang-format --dry-run and cppcheck
#   make packages     the Debian packages (debian/) into build/packaging/debs
#   make check-packages   build them, lintian, then install, upgrade, remove
#                     and purge them in a clean bookworm root (debootstrap)
#   make packages-trixie, check-packages-trixie   the same for trixie and
#                     its Xen 4.20 (built in the tools/platform root)

SRCDIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(DATADIR)/man
SANITIZE ?= 0
V ?= 0

ifeq ($(SANITIZE),1)
B ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
else ifeq ($(SANITIZE),fuzz)
# libFuzzer: clang only; the library is instrumented, the targets link it.
B ?= build-fuzz
CC := clang
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B ?= build
SAN_FLAGS :=
endif

CC ?= cc
# Dependencies by pkg-config name. Evaluated lazily (=) so `make deps` can run
# before pkg-config knows them.
PC_LIB := xenstore libxml-2.0 libpci yajl xencontrol
PC_XL := xenlight xlutil
PC_TEST := check
PC_CFLAGS = $(shell pkg-config --cflags $(PC_LIB) $(PC_XL) $(PC_TEST))
PC_LIBS_LIB = $(shell pkg-config --libs $(PC_LIB))
PC_LIBS_TEST = $(shell pkg-config --libs $(PC_TEST))
# The Xen release the build is for (4.17 on bookworm, 4.20 on trixie:
# tools/deps/platforms) and where its xl and xenstored are.
XEN_VERSION = $(shell pkg-config --modversion xenlight 2>/dev/null | cut -d. -f1,2)
XEN_BINDIR = /usr/lib/xen-$(XEN_VERSION)/bin
# 417, 420: for the few places the C code differs by release
XEN_VERSION_NUM = $(shell echo $(XEN_VERSION) | awk -F. '{ print $$1 * 100 + $$2 }')

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
        -Wstrict-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -O2 -g -fPIC -D_GNU_SOURCE $(WARN)
CFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN_FLAGS) -I$(SRCDIR)/lib/include $(PC_CFLAGS) \
             -DXENVF_XEN_VERSION=$(XEN_VERSION_NUM) $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps check test fuzz bench install uninstall clean lint format \
        check-sanitize check-trixie check-platforms demo packages \
        check-packages packages-trixie check-packages-trixie
.DEFAULT_GOAL := all

# Filled in by the fragments.
ALL_TARGETS :=
TEST_UNIT :=
TEST_INTEGRATION :=
# Tests that are scripts (policy, end to end): each ends with a plain
# "N passed, N failed" line; TEST_SCRIPT_DEPS is what they need built first.
TEST_SCRIPTS :=
TEST_SCRIPT_DEPS :=
FUZZ_TARGETS :=
# Benchmarks: programs or scripts that print their measurements and ratios
# against a baseline run side by side (never pass/fail on time).
BENCH_TARGETS :=

include lib/lib.mk
-include tests/harness/harness.mk
-include tests/unit/unit.mk
-include tests/integration/integration.mk
-include libxl-plugin/plugin.mk
-include tools/xenvf/xenvf.mk
-include guest/guest.mk
-include daemon/daemon.mk
-include tests/fuzz/fuzz.mk
-include xsm-policy/xsm-policy.mk
-include tests/e2e/e2e.mk

all: $(ALL_TARGETS)

deps:
	$(Q)$(SRCDIR)/tools/install-deps

# check installs what is missing first, then re-reads this Makefile so that
# pkg-config sees the freshly installed packages.
check: deps
	$(Q)$(MAKE) --no-print-directory test SANITIZE=$(SANITIZE)

test: $(ALL_TARGETS) $(TEST_UNIT) $(TEST_INTEGRATION) $(TEST_SCRIPT_DEPS)
	$(Q)B=$(B) SRCDIR=$(SRCDIR) XENSTORED=$(XENSTORED) \
	    XENVF_XEN_BINDIR=$(XEN_BINDIR) $(SRCDIR)/tests/run-tests \
	    $(TEST_UNIT) $(TEST_INTEGRATION) $(TEST_SCRIPTS)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-run

bench-run: $(ALL_TARGETS) $(BENCH_TARGETS)
	$(Q)set -e; for b in $(BENCH_TARGETS); do \
	    echo "== $$b"; B=$(B) SRCDIR=$(SRCDIR) XENVF_BUILD=$(SRCDIR)/$(B) \
	    XENVF_SRCDIR=$(SRCDIR) XENVF_XS_SHIM=$(SRCDIR)/$(B)/tests/harness/xs-shim.so \
	    XENSTORED=$(XENSTORED) XENVF_XEN_BINDIR=$(XEN_BINDIR) \
	    $$b; done

check-sanitize: deps
	$(Q)$(MAKE) --no-print-directory test SANITIZE=1

# The second platform: the same tree built and tested against trixie's Xen
# 4.20 inside a trixie root (tools/platform/root makes it once, cached in
# build/platform). Needs root (chroot, mounts).
check-trixie: deps
	$(Q)$(SRCDIR)/tools/platform/run trixie \
	    make -C /src --no-print-directory B=build-trixie check

check-platforms: check check-trixie

# Generic compile rule: build/<path>.o from <path>.c, with header deps.
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# (not under $(B)/platform, $(B)/packaging or $(B)/qemu*: chroots and
# image roots live there, with files such as usr/sbin/invoke-rc.d)
-include $(shell find $(B) \( -path $(B)/platform -o -path $(B)/packaging \
             -o -path '$(B)/qemu*' \) -prune -o -name '*.d' -type f -print \
             2>/dev/null)

# The demo: installs what is missing, builds, boots Debian's Xen in QEMU
# with SR-IOV NVMe and gives a guest a VF through vf= (tools/qemu-host/demo,
# docs/e2e.md). It runs make deps and make e2e-images itself, stamping
# their output with the rest of the story.
# DEMO_XEN=flask: on the FLASK-enforcing hypervisor (docs/xsm.md).
DEMO_XEN ?=
demo:
	$(Q)QEMU_BUILD=$(QEMU_BUILD) MAKE="$(MAKE)" DEMO_XEN=$(DEMO_XEN) \
	    $(SRCDIR)/tools/qemu-host/demo

install: all
	$(Q)$(MAKE) --no-print-directory install-lib

# The Debian packages (debian/, README.Debian), built from a copy of the
# tree by dpkg-buildpackage, checked by lintian (tests/packaging/build).
packages: deps
	$(Q)$(SRCDIR)/tests/packaging/build $(SRCDIR)/build/packaging/debs

# ...and installed, upgraded to a rebuilt version, removed and purged in a
# clean bookworm root (tests/packaging/run; root needed; about a minute
# once its debootstrap is cached in build/packaging). The packages it
# tests are the ones the QEMU tier installs (build/packaging/e2e-debs,
# tools/qemu-host/xenvf-debs: built once per state of the tree). Not part
# of `make check`: it needs chroot and, the first time, the Debian mirror.
check-packages: deps
	$(Q)B=build $(SRCDIR)/tests/packaging/run

# The same debian/ for trixie's Xen 4.20: built and lintian-checked inside
# the trixie root (tools/platform/root, the one check-trixie uses) into
# build/packaging/trixie/debs; check-packages-trixie tests the Xen 4.20
# tier's (build/packaging/e2e-debs-trixie) in a clean trixie root (cached
# as build/packaging/trixie-base.tar).
packages-trixie: deps
	$(Q)$(SRCDIR)/tests/packaging/build --platform trixie \
	    $(SRCDIR)/build/packaging/trixie/debs

check-packages-trixie: deps
	$(Q)B=build $(SRCDIR)/tests/packaging/run --platform trixie

clean:
	@# a killed platform run may have left its mounts (the source tree!)
	$(Q)for r in build/platform/*/root; do \
	    [ ! -d "$$r" ] || $(SRCDIR)/tools/platform/run --umount "$$r"; done
	rm -rf build build-san build-fuzz build-trixie

C_SOURCES = $(shell git -C $(SRCDIR) ls-files '*.c' '*.h' 2>/dev/null)
lint:
	$(Q)clang-format --dry-run --Werror $(C_SOURCES)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem -I lib/include \
	    $(filter %.c,$(C_SOURCES))

format:
	$(Q)clang-format -i $(C_SOURCES)
