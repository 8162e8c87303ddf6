# xenvf-guest, the guest's side (guest/, docs/guest.md): a small program
# for a guest's initramfs or a service, linked with libxenvf's xenstore,
# sysfs and pcifront parts (statically), libxenstore, and libdevmapper
# (the I/O switch's device, dm.c: only the binary links it; the tests
# drive switch.c with their own device-mapper ops).

GUEST_SRCS := guest/bind.c guest/boot.c guest/switch.c
GUEST_OBJS := $(GUEST_SRCS:%.c=$(B)/%.o)
XENVF_GUEST := $(B)/guest/xenvf-guest
GUEST_DM_LIBS = $(shell pkg-config --libs devmapper)

ALL_TARGETS += $(XENVF_GUEST)

$(B)/guest/dm.o: ALL_CFLAGS += $(shell pkg-config --cflags devmapper)
$(XENVF_GUEST): $(B)/guest/xenvf-guest.o $(B)/guest/dm.o $(GUEST_OBJS) \
    $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PC_LIBS_LIB) \
	    $(GUEST_DM_LIBS)

# Its tests link the binding code and run the binary against the fake
# kernel and the real xenstored.
$(B)/tests/integration/test_guest: $(B)/tests/integration/test_guest.o \
    $(GUEST_OBJS) $(HARNESS_A) $(LIB_A) | $(XS_SHIM) $(XENVF_GUEST) \
    $(FAKESYSFS_KERNEL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PC_LIBS_LIB) \
	    $(PC_LIBS_TEST)

# test_tcb_daemon runs xenvf-guest's request against the real xenvfd
$(B)/tests/integration/test_tcb_daemon: | $(XENVF_GUEST)

.PHONY: install-guest
install-guest: $(XENVF_GUEST)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PREFIX)/lib/systemd/system \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(XENVF_GUEST) $(DESTDIR)$(SBINDIR)/xenvf-guest
	install -m 0644 docs/man/xenvf-guest.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 guest/xenvf-guest.service \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/xenvf-guest.service
	# booting from a VF (docs/guest.md): the shared boot code, and its
	# initramfs-tools hook, boot script (boot=xenvf) and configuration hook
	install -D -m 0755 guest/initramfs/xenvf-boot \
	    $(DESTDIR)$(PREFIX)/lib/xenvf-guest/xenvf-boot
	install -D -m 0755 guest/initramfs/hook \
	    $(DESTDIR)$(PREFIX)/share/initramfs-tools/hooks/xenvf-guest
	install -D -m 0644 guest/initramfs/script \
	    $(DESTDIR)$(PREFIX)/share/initramfs-tools/scripts/xenvf
	install -D -m 0644 guest/initramfs/conf-hook \
	    $(DESTDIR)$(PREFIX)/share/initramfs-tools/conf-hooks.d/xenvf-guest
