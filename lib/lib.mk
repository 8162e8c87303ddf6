# libxenvf: libxenvf.a for the tests and tools, libxenvf.so for installation.

LIB_SRCS := $(wildcard lib/*.c)
# The RELAX NG schema of the VF map is compiled in, so the library validates
# without looking for a file; it is also installed for xmllint users.
LIB_GEN_SRCS := $(B)/lib/gen/vfmap-rng.c
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o) $(LIB_GEN_SRCS:.c=.o)
LIB_A := $(B)/lib/libxenvf.a
LIB_SO := $(B)/lib/libxenvf.so.0
XENVF_VERSION := 0.1.0

ALL_TARGETS += $(LIB_A) $(LIB_SO) $(B)/lib/xenvf.pc

$(B)/lib/gen/vfmap-rng.c: lib/vfmap.rng tools/embed-file
	@mkdir -p $(dir $@)
	$(Q)tools/embed-file xenvf_vfmap_rng $< > $@

$(B)/lib/gen/%.o: $(B)/lib/gen/%.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libxenvf.so.0 -Wl,--no-undefined \
	    $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS_LIB)

$(B)/lib/xenvf.pc: lib/xenvf.pc.in Makefile
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(XENVF_VERSION)|' \
	    -e 's|@REQUIRES@|$(PC_LIB)|' $< > $@

.PHONY: install-lib
install-lib:
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/xenvf \
	    $(DESTDIR)$(DATADIR)/xenvf
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libxenvf.so.0
	ln -sf libxenvf.so.0 $(DESTDIR)$(LIBDIR)/libxenvf.so
	install -m 0644 $(B)/lib/xenvf.pc $(DESTDIR)$(LIBDIR)/pkgconfig/xenvf.pc
	install -m 0644 lib/include/xenvf/*.h $(DESTDIR)$(INCLUDEDIR)/xenvf/
	install -m 0644 lib/vfmap.rng $(DESTDIR)$(DATADIR)/xenvf/vfmap.rng
