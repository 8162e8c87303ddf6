/*
 * fakesysfs: a fake sysfs tree that looks like the kernel's, and the
 * kernel's side of its writable attributes (libvirt's virpcimock is the
 * model). See docs/discovery.md.
 *
 * The tree, under a private temporary root:
 *
 *   <root>/devices/pci<ssss>:00/<bdf>/        real directories: config (4096
 *       bytes of real config space), vendor, device, class, revision,
 *       subsystem_vendor, subsystem_device, resource, irq, enable,
 *       numa_node, modalias, driver_override, reset, remove, driver ->,
 *       subsystem ->; PFs add sriov_totalvfs, sriov_numvfs, sriov_offset,
 *       sriov_stride, sriov_vf_device, sriov_drivers_autoprobe,
 *       sriov_vf_total_msix and virtfn<N> -> links; VFs have physfn ->.
 *   <root>/bus/pci/devices/<bdf> -> ../../../devices/pci<ssss>:00/<bdf>
 *   <root>/bus/pci/drivers/<name>/{bind,unbind,<bdf> ->}
 *   <root>/.fakesysfs/                          the harness's own state (a
 *       lock, which drivers have sriov_configure, reset log); sysfs has no
 *       dot files, so nothing that reads sysfs sees it.
 *
 * The kernel stand-in: writes to sriov_numvfs, sriov_drivers_autoprobe,
 * driver_override, reset, remove and drivers/<name>/{bind,unbind} behave as
 * the kernel's store functions do (errno and all). The store functions are
 * here; tests/harness/fakesysfs-kernel.so (LD_PRELOAD, active for paths
 * under $XENVF_FAKE_SYSFS) routes a process's write() on those files to
 * them, so any process using open/write/close (or fopen) sees a kernel.
 * Without the preload the tree is plain files and writes just land in them.
 *
 * Every int-returning call returns 0 or a positive errno value. Several
 * processes may share one tree: every change is made under the tree's lock.
 */
#ifndef XENVF_FAKESYSFS_H
#define XENVF_FAKESYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fakesysfs fakesysfs;

#define FAKESYSFS_CONFIG_SIZE 4096
#define FAKESYSFS_NR_VF_BARS  6
/* Default config-space positions of the extended capabilities. */
#define FAKESYSFS_AER_POS   0x100
#define FAKESYSFS_ARI_POS   0x140
#define FAKESYSFS_SRIOV_POS 0x160

/* vf_bar_flags[] */
#define FAKESYSFS_BAR_64       0x1 /* 64-bit: uses this slot and the next */
#define FAKESYSFS_BAR_PREFETCH 0x2 /* prefetchable */

/* What a device is. total_vfs > 0 makes it an SR-IOV PF. */
typedef struct fakesysfs_dev_spec {
    uint16_t vendor, device;
    uint32_t class_code; /* 24 bits: base class, subclass, prog-if */
    uint8_t revision;
    uint16_t subsys_vendor; /* 0: same as vendor */
    uint16_t subsys_device; /* 0: same as device */
    const char *driver;     /* bound at creation; NULL: unbound */
    /* SR-IOV capability */
    uint16_t total_vfs;
    uint16_t initial_vfs; /* 0: total_vfs (no VF migration) */
    uint16_t vf_offset, vf_stride, vf_device;
    uint64_t vf_bar_size[FAKESYSFS_NR_VF_BARS]; /* per VF, power of 2 */
    unsigned vf_bar_flags[FAKESYSFS_NR_VF_BARS];
    uint32_t supported_page_sizes; /* 0: 0x553 (4K 8K 64K 256K 1M 4M) */
    uint16_t sriov_pos;            /* 0: FAKESYSFS_SRIOV_POS */
    const char *vf_driver;         /* autoprobe binds VFs to it; NULL: driver */
    bool autoprobe_off;            /* sriov_drivers_autoprobe starts at 0 */
} fakesysfs_dev_spec;

void fakesysfs_spec_init(fakesysfs_dev_spec *spec);

/* A new tree under $TMPDIR, else /dev/shm, else /tmp; fakesysfs_free
 * removes it (unless FAKESYSFS_KEEP is set). */
int fakesysfs_new(fakesysfs **out);
/* Use an existing tree (e.g. made by another process); free keeps it. */
int fakesysfs_attach(const char *root, fakesysfs **out);
/* The root (canonical path): pass it as the sysfs root. */
const char *fakesysfs_root(const fakesysfs *fs);
/* Remove the tree (rm -rf) if it is ours, and free fs. NULL is a no-op. */
void fakesysfs_free(fakesysfs *fs);

/* A driver directory; sriov_configure says whether a write to a PF's
 * sriov_numvfs may work while the PF is bound to it (pciback: false).
 * Drivers named in a spec are created with sriov_configure true. */
int fakesysfs_add_driver(fakesysfs *fs, const char *name, bool sriov_configure);

/* Add a device "ssss:bb:dd.f". EEXIST if present, EINVAL for a bad spec. */
int fakesysfs_add(fakesysfs *fs, const char *bdf,
                  const fakesysfs_dev_spec *spec);
/* A plain function without SR-IOV. */
int fakesysfs_add_device(fakesysfs *fs, const char *bdf, uint16_t vendor,
                         uint16_t device, uint32_t class_code,
                         const char *driver);
/* An SR-IOV PF with 32-bit non-prefetchable VF BARs of the given per-VF
 * sizes (0: unused); for 64-bit BARs use fakesysfs_add with a spec. */
int fakesysfs_add_pf(fakesysfs *fs, const char *bdf, uint16_t vendor,
                     uint16_t device, uint32_t class_code, uint16_t total_vfs,
                     uint16_t vf_offset, uint16_t vf_stride, uint16_t vf_device,
                     const uint64_t vf_bar_size[FAKESYSFS_NR_VF_BARS],
                     const char *driver);
/* Hot-unplug: the device (and a PF's VFs) vanish. ENOENT if absent. */
int fakesysfs_remove_device(fakesysfs *fs, const char *bdf);

/* Raw config space, for tests that check or corrupt it. */
int fakesysfs_read_config(fakesysfs *fs, const char *bdf,
                          uint8_t buf[FAKESYSFS_CONFIG_SIZE]);
int fakesysfs_write_config(fakesysfs *fs, const char *bdf, unsigned offset,
                           const void *data, size_t len);
/* How many function-level resets the device has had (writes to `reset`). */
int fakesysfs_reset_count(fakesysfs *fs, const char *bdf, unsigned *out);

/* ---- the kernel stand-in -------------------------------------------- */

/* Environment variable naming the directory (a fake root or a directory
 * above roots) under which fakesysfs-kernel.so plays the kernel. */
#define FAKESYSFS_ENV_ROOT "XENVF_FAKE_SYSFS"
/* Environment variable with the path of fakesysfs-kernel.so. */
#define FAKESYSFS_ENV_SO "XENVF_FAKESYSFS_KERNEL"

/* Is fakesysfs-kernel.so loaded into this process? */
bool fakesysfs_kernel_active(void);
/* Path of fakesysfs-kernel.so: $XENVF_FAKESYSFS_KERNEL, else next to this
 * binary's build tree (../harness/ from build/tests/unit/). malloc'd, NULL
 * if not found. */
char *fakesysfs_kernel_so(void);
/*
 * Make this process run under the kernel stand-in: if it is not loaded,
 * re-exec this binary with argv, LD_PRELOAD += <so>, XENVF_FAKE_SYSFS =
 * the directory fakesysfs_new makes trees in (unless already set) and
 * ASAN_OPTIONS allowing a preload before the ASan runtime. Returns 0 when
 * active, else an errno (ENOENT: no .so found; ELIBACC: re-exec'ed and
 * still not loaded). Under valgrind use --trace-children=yes.
 */
int fakesysfs_kernel_reexec(char **argv);

/* Writes the stand-in answers: the attribute names of their stores. */
bool fakesysfs_kernel_is_store(const char *attr);
/*
 * The store behind one write() of buf[0..len) to <dir>/<attr>, dir and
 * root canonical (realpath). Returns the bytes consumed or -errno, as the
 * kernel's store does. Takes the tree's lock.
 */
ssize_t fakesysfs_kernel_store(const char *root, const char *dir,
                               const char *attr, const char *buf, size_t len);
/* The tree root containing canonical path `dir`, malloc'd; NULL if none. */
char *fakesysfs_find_root(const char *dir);

#endif
