# End-to-end tier: real Xen 4.17 in QEMU (TCG) with emulated SR-IOV NVMe.
# Not part of `make check` (every run boots QEMU: minutes); run `make e2e`.
#
#   make e2e                    deps, images, boot, every scenario
#   make e2e E2E_SCENARIOS="boot sriov"
#   make e2e-images             only (re)build what changed
#   make qemu-shell             boot the host with a shell on this terminal
#   make e2e-lint               shellcheck the host builder and the tier
#   make e2e-pcifront-fix       the guest MSI-X fix experiment (docs/e2e.md)
#   make e2e-stress             the crash hunt's stress boots (docs/e2e.md)
#   make e2e E2E_XEN=flask      the FLASK boot: the flask-* scenarios on a
#                               FLASK-enforcing hypervisor (docs/xsm.md)
#   make e2e E2E_QEMU=trixie    on trixie's QEMU 10 (tools/platform/qemu,
#                               the trixie root made first); bookworm: 7.2
#   make e2e E2E_PLATFORM=trixie  the tier on Xen 4.20: trixie's hypervisor,
#                               kernel, userland and xenvf's trixie packages
#                               (tools/qemu-host/platform-images,
#                               build/qemu-trixie) on QEMU 10
#
# Images live in QEMU_BUILD (build/qemu whatever B is: the sanitizer builds
# share them); downloaded .debs in QEMU_BUILD/cache. Each image is rebuilt
# only when one of its inputs changed: the Debian packages chosen
# (debs.txt), the host packages its binaries come from (host-pkgs.txt), its
# scripts, or its overlay.

# E2E_PLATFORM: bookworm (Xen 4.17) or trixie (Xen 4.20: its own images,
# made in the trixie root with xenvf's packages built there). Every
# scenario but the FLASK boot's runs on both.
E2E_PLATFORM ?= bookworm
ifeq ($(E2E_PLATFORM),trixie)
QEMU_BUILD := $(SRCDIR)/build/qemu-trixie
E2E_QEMU := trixie
else ifneq ($(E2E_PLATFORM),bookworm)
$(error E2E_PLATFORM must be bookworm or trixie, not '$(E2E_PLATFORM)')
endif
QEMU_BUILD ?= $(SRCDIR)/build/qemu
QH := $(SRCDIR)/tools/qemu-host
E2E_DIR := $(SRCDIR)/tests/e2e
E2E_SCENARIOS ?=
# The QEMU the host runs on (run-host --qemu): trixie (10.0, from the
# trixie platform root, made by e2e-images when missing) or bookworm (7.2,
# this machine's). Every target that boots QEMU passes it as QHOST_QEMU.
# The FLASK boot (E2E_XEN=flask) runs on 10 too (docs/xsm.md).
E2E_QEMU ?= trixie
export QHOST_QEMU := $(E2E_QEMU)
# xenvf in the images comes from the project's Debian packages, built from
# this tree (tools/qemu-host/xenvf-debs; rebuilt when a file changes):
# every tier run proves them. dom0: xenvfd, the CLI and the plugin; the
# guest: xenvfd (a driver domain runs its PF agent) and xenvf-guest.
XENVF_DEBS := $(SRCDIR)/build/packaging/e2e-debs
E2E_DOM0_PKGS ?= xenvf xenvf-xl-plugin
E2E_GUEST_PKGS ?= xenvf xenvf-guest
# More SRC:DEST pairs (a SRC that is a make target is built first).
E2E_DOM0_OVERLAY ?=
E2E_GUEST_OVERLAY ?= $(E2E_DIR)/guest:/qhost/jobs \
    $(QEMU_BUILD)/xenvf-flask-op:/usr/local/bin/xenvf-flask-op
E2E_PKGS := $(shell $(SRCDIR)/tools/install-deps --print e2e)

overlay_srcs = $(foreach p,$(1),$(firstword $(subst :, ,$(p))))
# every file under the overlay sources, so an edit inside a directory counts
overlay_files = $(foreach s,$(call overlay_srcs,$(1)),\
    $(if $(wildcard $(s)/.),$(shell find $(s) -type f),$(s)))
# write-if-changed: keeps the timestamp when the content is the same
define write_if_changed
	@mkdir -p $(dir $(1))
	$(Q)printf '%s\n' $(2) >$(1).new
	$(Q)if cmp -s $(1).new $(1); then rm -f $(1).new; else mv $(1).new $(1); fi
endef

.PHONY: e2e e2e-run e2e-images e2e-lint e2e-pcifront-fix e2e-stress qemu-shell FORCE-E2E

e2e: deps
	$(Q)$(MAKE) --no-print-directory e2e-run

e2e-run: $(if $(filter trixie,$(E2E_PLATFORM)),e2e-platform-images,e2e-images) \
    $(if $(filter flask,$(E2E_XEN)),e2e-flask-images)
	$(Q)QEMU_BUILD=$(QEMU_BUILD) E2E_XEN=$(E2E_XEN) E2E_HVM=$(E2E_HVM) \
	    E2E_SKIP="$(E2E_SKIP)" E2E_FLASK_XEN=$(XEN_FLASK) E2E_FLASK_POLICY=$(E2E_FLASK_POLICY) \
	    $(E2E_DIR)/run-e2e $(E2E_SCENARIOS)

e2e-images: $(QEMU_BUILD)/dom0.cpio.gz $(QEMU_BUILD)/guest.cpio \
    $(QEMU_BUILD)/bootroot.img $(QEMU_BUILD)/guest-itr.cpio \
    $(if $(filter trixie,$(E2E_QEMU)),e2e-qemu-root)

# E2E_HVM=1: dom0's image gets the HVM device model (scenario hvm)
E2E_HVM ?=
# the Xen 4.20 tier's images, made in the trixie root with xenvf's trixie
# packages (those rebuilt only when a file changed; the images every run:
# about a minute)
# The boot-from-VF images (scenario xenvf-boot) only
# when the run has them (the default list, or named): the initramfs-tools
# image takes a minute and a base root of the release (the package
# test's, build/packaging/RELEASE-base.tar). Made on this machine by the
# bookworm tier's builders: the root file system is static busybox, the
# initramfs is made in a root of the release with its xenvf-guest package
# and the release's guest kernel.
E2E_BOOT_IMAGES = $(if $(E2E_SCENARIOS),$(filter xenvf-boot,$(E2E_SCENARIOS)),all)
.PHONY: e2e-platform-images
e2e-platform-images:
	$(Q)XENVF_DOM0_PKGS="$(E2E_DOM0_PKGS)" XENVF_GUEST_PKGS="$(E2E_GUEST_PKGS)" \
	    E2E_HVM="$(E2E_HVM)" \
	    $(QH)/platform-images $(E2E_PLATFORM)
	$(if $(E2E_BOOT_IMAGES),$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/mk-boot-rootfs)
	$(if $(E2E_BOOT_IMAGES),$(Q)QEMU_BUILD=$(QEMU_BUILD) \
	    XENVF_DEBS=$(SRCDIR)/build/packaging/e2e-debs-$(E2E_PLATFORM) \
	    $(QH)/mk-itr-initramfs $(SRCDIR)/build/packaging/$(E2E_PLATFORM)-base.tar \
	    $(E2E_PLATFORM))

# trixie's QEMU runs from the trixie root (cached: tools/platform/root
# checks its package lists and makes or updates it only when they changed)
.PHONY: e2e-qemu-root
e2e-qemu-root:
	$(Q)$(SRCDIR)/tools/platform/root trixie >/dev/null

# fetch-debs asks apt every time but rewrites debs.txt only on a change.
$(QEMU_BUILD)/debs.txt: FORCE-E2E
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/fetch-debs

$(QEMU_BUILD)/unpacked.stamp: $(QEMU_BUILD)/debs.txt $(QH)/unpack-debs $(QH)/lib.sh
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/unpack-debs
	$(Q)touch $@

$(QEMU_BUILD)/host-pkgs.txt: FORCE-E2E
	$(call write_if_changed,$@,"$$(dpkg-query -W $(E2E_PKGS) 2>&1)")

$(QEMU_BUILD)/guest-overlay.txt: FORCE-E2E
	$(call write_if_changed,$@,$(E2E_GUEST_OVERLAY) $(E2E_GUEST_PKGS))

$(QEMU_BUILD)/dom0-overlay.txt: FORCE-E2E
	$(call write_if_changed,$@,$(E2E_DOM0_OVERLAY) $(E2E_DOM0_PKGS))

IMAGE_DEPS := $(QEMU_BUILD)/unpacked.stamp $(QEMU_BUILD)/host-pkgs.txt $(QH)/lib.sh

$(XENVF_DEBS)/.content: FORCE-E2E
	$(Q)$(QH)/xenvf-debs $(XENVF_DEBS)

$(QEMU_BUILD)/guest.cpio: $(IMAGE_DEPS) $(QH)/mk-guest-initramfs $(QH)/guest-init \
        $(QEMU_BUILD)/guest-overlay.txt $(call overlay_files,$(E2E_GUEST_OVERLAY)) \
        $(XENVF_DEBS)/.content
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)QEMU_BUILD=$(QEMU_BUILD) XENVF_DEBS=$(XENVF_DEBS) \
	    XENVF_GUEST_PKGS="$(E2E_GUEST_PKGS)" \
	    $(QH)/mk-guest-initramfs $(E2E_GUEST_OVERLAY)

# the root file system a guest boots from its VF (scenario xenvf-boot)
$(QEMU_BUILD)/bootroot.img: $(IMAGE_DEPS) $(QH)/mk-boot-rootfs $(QH)/bootroot-init
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/mk-boot-rootfs

# a guest initramfs made by initramfs-tools with xenvf-guest's hook, in a
# clean bookworm root (the package test's, cached as the same tarball
# make check-packages uses): scenario xenvf-boot boots it (boot=xenvf)
$(QEMU_BUILD)/guest-itr.cpio: $(QEMU_BUILD)/unpacked.stamp $(QH)/mk-itr-initramfs \
        $(XENVF_DEBS)/.content
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)QEMU_BUILD=$(QEMU_BUILD) XENVF_DEBS=$(XENVF_DEBS) \
	    $(QH)/mk-itr-initramfs $(SRCDIR)/build/packaging/bookworm-base.tar

$(QEMU_BUILD)/dom0.cpio.gz: $(IMAGE_DEPS) $(QH)/mk-dom0-initramfs $(QH)/dom0-init \
        $(QEMU_BUILD)/dom0-overlay.txt $(call overlay_files,$(E2E_DOM0_OVERLAY)) \
        $(XENVF_DEBS)/.content
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)QEMU_BUILD=$(QEMU_BUILD) XENVF_DEBS=$(XENVF_DEBS) \
	    XENVF_DOM0_PKGS="$(E2E_DOM0_PKGS)" \
	    $(QH)/mk-dom0-initramfs $(E2E_DOM0_OVERLAY)

FORCE-E2E:

# FLASK's hypercall from a guest (guest job flask-op, scenario
# flask-deny-relabel): static, as the guest image has no libxenctrl.
$(QEMU_BUILD)/xenvf-flask-op: $(E2E_DIR)/flask-op.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -static $(BASE_CFLAGS) -o $@ $<

# ---- the FLASK boot (E2E_XEN=flask; docs/xsm.md) ---------------------------
# Xen built from Debian's source with XSM/FLASK (xsm-policy/build-xen-flask,
# cached under build/xen-flask by source version: the script itself decides
# whether to rebuild), booted with flask=enforcing and the project's policy
# as one more multiboot module. The policy carries the tier machine's MMCFG
# label compiled in (tools/qemu-host/flask-labels.list); xenvfd labels PFs
# and VFs at run time. Debian's hypervisor ($(QEMU_BUILD)/xen, re-unpacked
# by every make e2e) is not touched.
E2E_XEN ?=
XEN_FLASK_DIR := $(SRCDIR)/build/xen-flask
XEN_FLASK := $(XEN_FLASK_DIR)/xen
E2E_FLASK_POLICY := $(QEMU_BUILD)/flask/xenpolicy
XEN_FLASK_JOBS ?= 2

.PHONY: e2e-flask-images xen-flask
e2e-flask-images: xen-flask $(E2E_FLASK_POLICY)

xen-flask:
	$(Q)$(SRCDIR)/xsm-policy/build-xen-flask --out $(XEN_FLASK_DIR) \
	    --jobs $(XEN_FLASK_JOBS) >/dev/null

$(QEMU_BUILD)/flask/labels.conf: $(QH)/flask-labels.list $(FLASK_LABELS)
	@mkdir -p $(dir $@)
	$(Q)$(FLASK_LABELS) --list $< -o $@

# The tier's module: the project's, plus a second driver-domain pair
# (xenvf_drv2_t, xenvf_drv2_pf_t), one line as docs/xsm.md tells an
# administrator to add one: scenario flask-driver-domain gives a driver
# domain of each type the PF labelled for the other's.
E2E_FLASK_MODULE := $(QEMU_BUILD)/flask/module
$(E2E_FLASK_MODULE)/xenvf.te: $(XSM_POLICY_SRCS)
	@mkdir -p $(dir $@)
	$(Q)cp $(SRCDIR)/xsm-policy/xenvf.if $(SRCDIR)/xsm-policy/modules.conf $(dir $@)
	$(Q){ cat $(SRCDIR)/xsm-policy/xenvf.te; echo; \
	    echo '# the QEMU tier: a second driver domain type (tests/e2e/e2e.mk)'; \
	    echo 'xenvf_driver_domain(xenvf_drv2_t, xenvf_drv2_pf_t)'; } >$@.new
	$(Q)mv $@.new $@

$(E2E_FLASK_POLICY): $(QEMU_BUILD)/flask/labels.conf $(E2E_FLASK_MODULE)/xenvf.te
	@$(if $(Q),echo "  POLICY  $@")
	$(Q)$(SRCDIR)/xsm-policy/build-policy --out $(QEMU_BUILD)/flask \
	    --module $(E2E_FLASK_MODULE) --labels $(QEMU_BUILD)/flask/labels.conf

qemu-shell: e2e-images
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/run-host --interactive \
	    --dom0-args "qhost.shell=1" --timeout 3600

# The crash hunt (docs/e2e.md, "Random crashes: root cause"): boots that
# run fork loops and a register checker in dom0 and in PV guests and count
# what went wrong. E2E_STRESS_ARGS: stress-host's options, e.g.
# "--runs 3 --secs 60 --guests 2 -- --xen-args spec-ctrl=eager-fpu=0".
E2E_STRESS_ARGS ?= --runs 1 --secs 60 --guests 2
e2e-stress: e2e-images
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(E2E_DIR)/stress-host $(E2E_STRESS_ARGS)

# The guest xen-pcifront module with the MSI-X teardown fix (docs/e2e.md):
# an experiment, not part of the tier.
e2e-pcifront-fix: $(QEMU_BUILD)/unpacked.stamp
	$(Q)QEMU_BUILD=$(QEMU_BUILD) $(QH)/pcifront-fix/build

E2E_SH := $(filter-out $(QH)/pcifront-fix %.patch %.list,\
              $(wildcard $(QH)/* $(QH)/pcifront-fix/*)) \
          $(wildcard $(E2E_DIR)/dom0/*) \
          $(wildcard $(E2E_DIR)/scenarios/*.sh) $(wildcard $(E2E_DIR)/guest/*) \
          $(E2E_DIR)/run-e2e $(E2E_DIR)/stress-host $(E2E_DIR)/stress/run \
          $(E2E_DIR)/bench-stages $(SRCDIR)/xsm-policy/build-xen-flask \
          $(filter-out %/conf-hook,$(wildcard $(SRCDIR)/guest/initramfs/*))
e2e-lint:
	$(Q)cd $(SRCDIR) && shellcheck -x $(E2E_SH)

# make bench reports the last run's stage times (tests/e2e/bench-stages).
BENCH_TARGETS += $(E2E_DIR)/bench-stages
