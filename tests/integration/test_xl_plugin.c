/*
 * The plugin inside the REAL xl (/usr/lib/xen-<release>/bin/xl), without a
 * hypervisor: xl runs with LD_PRELOAD="libxenvf-xl.so fake-libxl.so", so
 * the dynamic linker binds xl's libxl_domain_create_new@VERS_4.17.0 (and
 * the others) to the plugin exactly as on a Xen host, and the plugin's
 * dlvsym(RTLD_NEXT) finds fake-libxl.so's stand-ins for the calls that
 * need Xen. xl itself parses the config file and the command line.
 *
 * xenstore is the real xenstored and the TCB the real xenvfd on the fake
 * sysfs tree (plugin-env.h); the test plays the PF agent.
 *
 * What is shown: xl create with and without vf=, a command-line override,
 * a malformed vf= (xl exits non-zero, nothing created), the gate timing
 * out inside xl (exit 1, domain destroyed, VFs released), xl create -p
 * then a separate xl unpause that waits for the PF, Ctrl-C while waiting,
 * and that xl's children do not inherit the plugin.
 */
#include <regex.h>

#include "../harness/plugin-env.h"
#include "../harness/check-main.h"

/* Xen's xl of this release: run-tests says where (XENVF_XEN_BINDIR). */
static const char *xl_binary(void)
{
    static char path[PATH_MAX];
    const char *dir_ = getenv("XENVF_XEN_BINDIR");

    snprintf(path, sizeof(path), "%s/xl", dir_ ? dir_ : "/usr/sbin");
    return path;
}
#define XL_BINARY xl_binary()

static xsh_guest *guests[4];
static char dir[PATH_MAX], preload[3 * PATH_MAX], out_path[PATH_MAX + 16],
    conf[PATH_MAX + 32];

static void set_state(const char *id, xenvf_pf_state state)
{
    penv_set_state(id, state);
}

static void write_file(const char *name, const char *text)
{
    char path[2 * PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name)
{
    char path[2 * PATH_MAX], *buf = NULL;
    size_t cap = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "r")))
        return strdup("");
    if (getdelim(&buf, &cap, '\0', f) < 0) {
        free(buf);
        buf = strdup("");
    }
    fclose(f);
    return buf;
}

static void setup(void)
{
    const char *build = getenv("XENVF_BUILD");

    ck_assert_ptr_nonnull(build);
    penv_setup();
    penv_write_conf(conf, sizeof(conf), "gate_timeout = 10\n");
    snprintf(dir, sizeof(dir), "%.*s/xl", PATH_MAX - 8, E.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(out_path, sizeof(out_path), "%s/xl.out", dir);
    /* the domains the fake libxl will "create" exist for xenstored */
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(xsh_domain_create(E.hs, 5 + i, &guests[i]), 0);
    write_file("web1.cfg", "name = \"web1\"\ntype = \"pv\"\n"
                           "kernel = \"/boot/vmlinuz\"\nmemory = 128\n"
                           "vf = [ 'pf=nvme0,function=nvme,boot=1' ]\n");
    write_file("plain.cfg", "name = \"plain\"\ntype = \"pv\"\n"
                            "kernel = \"/boot/vmlinuz\"\nmemory = 128\n");
    /* under ASan the runtime must come first into the uninstrumented xl */
    snprintf(preload, sizeof(preload),
             "%s%s%s/libxl-plugin/libxenvf-xl.so "
             "%s/tests/integration/fake-libxl.so",
#ifdef ASAN_RUNTIME
             ASAN_RUNTIME, " ",
#else
             "", "",
#endif
             build, build);
}

static void teardown(void)
{
    for (unsigned i = 0; i < 4; i++)
        xsh_guest_close(guests[i]);
    penv_teardown();
}

/* Start xl with args (NULL-terminated) in the background; its stdout and
 * stderr go to xl.out. */
static pid_t start_xl(const char *const *args)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* XL_WRAPPER (e.g. "valgrind -q --error-exitcode=99") runs xl
         * under a tool */
        const char *wrap = getenv("XL_WRAPPER");
        char *w = wrap ? strdup(wrap) : NULL;
        const char *argv[32];
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        size_t n = 0;

        for (char *tok = w ? strtok(w, " ") : NULL; tok && n < 16;
             tok = strtok(NULL, " "))
            argv[n++] = tok;
        argv[n++] = XL_BINARY;
        for (size_t a = 0; args[a] && n < 31; a++)
            argv[n++] = args[a];
        argv[n] = NULL;
        if (fd < 0 || chdir(dir))
            _exit(120);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("LD_PRELOAD", preload, 1);
        setenv("FAKE_LIBXL_DIR", dir, 1);
        setenv("XENVF_PLUGIN_CONF", conf, 1);
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1); /* xl's, not ours */
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_xl(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_xl(const char *const *args)
{
    return wait_xl(start_xl(args));
}

/* Test-side wait for a line in xl's output (bounded). */
static bool xl_says(const char *what)
{
    for (int i = 0; i < 500; i++) {
        char *out = read_file("xl.out");
        bool found = strstr(out, what) != NULL;

        free(out);
        if (found)
            return true;
        usleep(10000);
    }
    return false;
}

#define ASSERT_CONTAINS(hay, needle)                                           \
    ck_assert_msg(strstr((hay), (needle)), "'%s' not in:\n%s", (needle), (hay))

/* hay has a line matching the extended regular expression re */
static bool matches(const char *hay, const char *re)
{
    regex_t r;
    bool found;

    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB),
                     0);
    found = regexec(&r, hay, 0, NULL, 0) == 0;
    regfree(&r);
    return found;
}

#define ASSERT_MATCHES(hay, re)                                                \
    ck_assert_msg(matches((hay), (re)), "no line matches '%s' in:\n%s", (re),  \
                  (hay))

/* a step's time in a "steps in ms:" line */
#define MS "[0-9]+\\.[0-9]"

/* No vf=, no pci=: nothing of xenvf's, at create nor at xl save. */
START_TEST(xl_create_without_vf)
{
    const char *create[] = {"create", "-e", "plain.cfg", NULL};
    const char *save[] = {"save", "5", "plain.save", "plain.cfg", NULL};
    const char *const *runs[] = {create, save};
    char *calls, *out;

    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(run_xl(runs[i]), 0);
        out = read_file("xl.out");
        ck_assert_ptr_null(strstr(out, "xenvf:"));
        free(out);
    }
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 plain pcidevs: preload:");
    ASSERT_CONTAINS(calls, "unpause 5");
    ASSERT_CONTAINS(calls, "suspend 5 flags 0");
    ASSERT_CONTAINS(calls, "destroy 5");
    ck_assert(!log_has("reserved for"));
    free(calls);
}
END_TEST

START_TEST(xl_create_with_vf)
{
    const char *args[] = {"create", "-e", "web1.cfg", NULL};
    char *calls, *out, *v;

    ck_assert_int_eq(run_xl(args), 0);
    calls = read_file("calls");
    out = read_file("xl.out");
    /* libxl was handed the VF as a PCI device */
    ASSERT_CONTAINS(calls, "create 5 web1 pcidevs: 0000:01:00.1");
    /* said in the config libxl stores: a VF can be plugged again after
     * the domain was saved without one */
    ASSERT_CONTAINS(calls, "passthrough:enabled");
    ASSERT_CONTAINS(calls, "unpause 5");
    /* xl's children do not load the plugin; other preloads stay */
    ck_assert_ptr_null(strstr(calls, "libxenvf-xl.so"));
    ASSERT_CONTAINS(calls, "fake-libxl.so");
    ASSERT_CONTAINS(out, "Z xenvf: reserving 1 VF for domain web1");
    ASSERT_CONTAINS(out, "xenvf: PF nvme0 ready after ");
    ASSERT_CONTAINS(out, ", unpausing domain 5");
    /* what each step took, the build's and the gate's, a line each */
    ASSERT_MATCHES(out,
                   "xenvf: domain web1 \\(5\\): build steps in ms: check " MS
                   ", resolve " MS ", reserve " MS ", libxl " MS ", commit " MS
                   ", guest-nodes " MS ", plan " MS " \\(the plugin's own " MS
                   "\\)$");
    ASSERT_MATCHES(out,
                   "xenvf: domain web1 \\(5\\): unpause steps in ms: plan " MS
                   ", gate " MS ", libxl " MS ", count " MS
                   " \\(the plugin's own " MS "\\)$");
    ck_assert_int_eq(penv_holder("nvme0", 0), 5);
    ck_assert_int_eq(xsh_guest_read(guests[0], "xenvf/vf/0/function", &v), 0);
    ck_assert_str_eq(v, "nvme");
    free(v);
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();
}
END_TEST

START_TEST(xl_command_line_override)
{
    const char *args[] = {"create", "-e", "web1.cfg",
                          "vf=[\"pf=net0,index=1\"]", NULL};
    char *calls;

    ck_assert_int_eq(run_xl(args), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 web1 pcidevs: 0000:02:00.2 ");
    ck_assert_int_eq(penv_holder("net0", 1), 5);
    ck_assert_uint_eq(penv_nr_held(), 1);
    free(calls);
}
END_TEST

/* xl's own pci_* defaults, as xl looked them up, apply to the VFs */
START_TEST(xl_pci_defaults_reach_the_vfs)
{
    const char *args[] = {"create", "-e", "web1.cfg", "pci_permissive=1", NULL};
    char *calls;

    ck_assert_int_eq(run_xl(args), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 web1 pcidevs: 0000:01:00.1+permissive ");
    free(calls);
}
END_TEST

/* Debian's /usr/sbin/xl is a shell script that execs the real xl: the
 * plugin, preloaded into that shell too, must still reach xl. */
START_TEST(xl_behind_a_shell_wrapper)
{
    const char *args[] = {"create", "-e", "web1.cfg", NULL};
    char wrapper[PATH_MAX + 16], *calls;

    write_file("wrapper", "#!/bin/sh\nexec \"$@\"\n");
    snprintf(wrapper, sizeof(wrapper), "%s/wrapper", dir);
    ck_assert_int_eq(chmod(wrapper, 0755), 0);
    setenv("XL_WRAPPER", wrapper, 1);
    ck_assert_int_eq(run_xl(args), 0);
    unsetenv("XL_WRAPPER");
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 web1 pcidevs: 0000:01:00.1");
    free(calls);
}
END_TEST

START_TEST(xl_refuses_a_bad_vf)
{
    const char *args[] = {"create", "-e", "web1.cfg",
                          "vf+=[\"pf=net0,vlan=5000\"]", NULL};
    char *calls, *out;

    ck_assert_int_ne(run_xl(args), 0);
    calls = read_file("calls");
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "xenvf: error: web1.cfg: vf[1] \"pf=net0,vlan=5000\": "
                         "vlan 5000 is out of range 0-4094");
    ck_assert_ptr_null(strstr(calls, "create"));
    ck_assert(!log_has("reserved for"));
    free(calls);
    free(out);
}
END_TEST

START_TEST(xl_gate_timeout_exits_nonzero)
{
    const char *args[] = {"create", "-e", "web1.cfg",
                          "vf=['pf=nvme0,timeout=0.3']", NULL};
    char *calls, *out;

    set_state("nvme0", XENVF_PF_PROBING);
    ck_assert_int_eq(run_xl(args), 1);
    calls = read_file("calls");
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "xenvf: waiting for PF nvme0 (state probing)");
    ASSERT_CONTAINS(out, "xenvf: error: domain web1 (5): PF nvme0 not ready "
                         "after 0.300 s (last state: probing)");
    ASSERT_CONTAINS(out, "xenvf: destroyed domain 5 (web1) and released its "
                         "VFs");
    ASSERT_CONTAINS(calls, "destroy 5");
    ck_assert_ptr_null(strstr(calls, "unpause"));
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();
}
END_TEST

START_TEST(xl_create_paused_then_xl_unpause)
{
    const char *create[] = {"create", "-e", "-p", "web1.cfg", NULL};
    const char *unpause[] = {"unpause", "5", NULL};
    char *calls;
    pid_t pid;

    set_state("nvme0", XENVF_PF_PROBING);
    ck_assert_int_eq(run_xl(create), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 web1");
    ck_assert_ptr_null(strstr(calls, "unpause"));
    free(calls);

    /* another xl process, which parsed no config, keeps the gate */
    pid = start_xl(unpause);
    ck_assert(xl_says("xenvf: waiting for PF nvme0 (state probing)"));
    calls = read_file("calls");
    ck_assert_ptr_null(strstr(calls, "unpause"));
    free(calls);
    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(wait_xl(pid), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "unpause 5");
    free(calls);
    ck_assert(xl_says(", unpausing domain 5"));
}
END_TEST

START_TEST(xl_interrupted_while_waiting)
{
    const char *args[] = {"create", "-e", "web1.cfg", NULL};
    char *calls, *out;
    pid_t pid;

    set_state("nvme0", XENVF_PF_PROBING);
    pid = start_xl(args);
    ck_assert(xl_says("xenvf: waiting for PF nvme0"));
    kill(pid, SIGINT);
    ck_assert_int_eq(wait_xl(pid), 1);
    calls = read_file("calls");
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "interrupted after");
    ASSERT_CONTAINS(calls, "destroy 5");
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* xl destroy from another shell while xl create waits at the gate: the
 * wait ends at once (not at its timeout), xl says why and exits 1, and
 * nothing is left held. */
START_TEST(xl_destroyed_while_waiting)
{
    const char *args[] = {"create", "-e", "web1.cfg", NULL};
    char *calls, *out;
    pid_t pid;

    set_state("nvme0", XENVF_PF_PROBING);
    pid = start_xl(args);
    ck_assert(xl_says("xenvf: waiting for PF nvme0"));
    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0); /* @releaseDomain */
    ck_assert_int_eq(wait_xl(pid), 1);
    calls = read_file("calls");
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "xenvf: error: domain web1 (5): the domain was "
                         "destroyed after ");
    ASSERT_CONTAINS(out, "of waiting for PF nvme0 (last state: probing)");
    ck_assert_ptr_null(strstr(out, "could not destroy"));
    ck_assert_ptr_null(strstr(calls, "unpause"));
    ck_assert_ptr_null(strstr(calls, "destroy 5"));
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* xl pci-attach of a VF xenvf manages: a free one is attached and
 * xenvfd counts it as the domain's; one another domain holds is refused
 * before libxl touches it. */
START_TEST(xl_pci_attach_follows_the_books)
{
    const char *create[] = {"create", "-e", "web1.cfg",
                            "vf=['pf=nvme0,index=1']", NULL};
    const char *attach_free[] = {"pci-attach", "6", "0000:01:00.3", NULL};
    const char *attach_held[] = {"pci-attach", "6", "0000:01:00.2", NULL};
    char *calls, *out;

    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(run_xl(create), 0); /* web1 is 5, with VF 1 */
    ck_assert_int_eq(penv_held_settles_to(1), 1);

    ck_assert_int_ne(run_xl(attach_held), 0);
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "pci-attach: 0000:01:00.2 is PF nvme0 VF 1, held by "
                         "domain 5 (active): not giving it to domain 6");
    calls = read_file("calls");
    ck_assert_ptr_null(strstr(calls, "pci-add"));
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();

    ck_assert_int_eq(run_xl(attach_free), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "pci-add 6 0000:01:00.3");
    free(calls);
    /* xenvfd saw libxl's backend list it: domain 6 holds VF 2 now */
    ck_assert_uint_eq(penv_held_settles_to(2), 2);
    ASSERT_BOOKS_AGREE();
    /* its guest's nodes, as at create: its helper and its I/O switch
     * find it (a domain restored without VFs gets one back this way) */
    ASSERT_XS("/local/domain/6/xenvf/vf/0/pf", "nvme0");
    ASSERT_XS("/local/domain/6/xenvf/vf/0/index", "2");
    ASSERT_XS("/local/domain/6/xenvf/vf/0/bdf", "0000:01:00.3");
    ck_assert_int_eq(xsh_guest_write(guests[1],
                                     "/local/domain/6/xenvf/vf/0/"
                                     "switch",
                                     "pv"),
                     0);
    /* attached again: what the guest wrote stays */
    ck_assert_int_eq(run_xl(attach_free), 0);
    ASSERT_XS("/local/domain/6/xenvf/vf/0/switch", "pv");
    ck_assert_int_ne(xsh_guest_write(guests[1],
                                     "/local/domain/6/xenvf/vf/0/"
                                     "pf",
                                     "net0"),
                     0);
}
END_TEST

/* xl restore -p or xl migrate -p leaves the domain paused, with what was
 * moved off its VFs in its xenstore directory (here one VF unplugged by
 * unplug-and-go): the xl that unpauses it later plugs it again, and the
 * record goes; a record that does not parse is said and goes too. */
START_TEST(xl_unpause_moves_back_what_a_paused_restore_left)
{
    const char *unpause[] = {"unpause", "5", NULL};
    char *calls, *out, *left = NULL;

    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(
        xenvf_xs_write(&E.xs, "/local/domain/5/xenvf-iomove", "nvme0#1", NULL),
        0);
    ck_assert_int_eq(run_xl(unpause), 0);
    calls = read_file("calls");
    out = read_file("xl.out");
    ASSERT_CONTAINS(calls, "pci-add 5 0000:01:00.2");
    ASSERT_CONTAINS(out, "nvme0#1: plugged again (unplug-and-go)");
    ck_assert_int_eq(
        xenvf_xs_read(&E.xs, "/local/domain/5/xenvf-iomove", &left, NULL), 0);
    ck_assert_ptr_null(left);
    ck_assert_uint_eq(penv_held_settles_to(1), 1);
    free(calls);
    free(out);
    ASSERT_BOOKS_AGREE();

    ck_assert_int_eq(
        xenvf_xs_write(&E.xs, "/local/domain/6/xenvf-iomove", "nvme0#x", NULL),
        0);
    unpause[1] = "6";
    ck_assert_int_eq(run_xl(unpause), 0);
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "domain 6: /local/domain/6/xenvf-iomove: "
                         "xenvf-iomove: nvme0: bad VF index 'x'");
    ck_assert_int_eq(
        xenvf_xs_read(&E.xs, "/local/domain/6/xenvf-iomove", &left, NULL), 0);
    ck_assert_ptr_null(left);
    free(out);
}
END_TEST

/* An xl save file (tools/xl/xl.h, save_domain_core_writeconfig): the
 * header, then the config with its length, in xl's own syntax (what xl
 * wrote before JSON; xl still reads it, and the fake libxl cannot parse
 * JSON); no memory image, which only libxl (faked) would read. */
static void write_save(const char *file, const char *name, const char *pci)
{
    static const char magic[32] = "Xen saved domain, xl format\n \0 \r";
    struct {
        char magic[32];
        uint32_t byteorder, mandatory_flags, optional_flags, optional_len;
    } hdr;
    char cfg[1024], path[2 * PATH_MAX];
    uint32_t len;
    FILE *f;

    snprintf(cfg, sizeof(cfg),
             "name = \"%s\"\ntype = \"pv\"\nkernel = \"/boot/vmlinuz\"\n"
             "memory = 128\npci = [ \"%s\" ]\n",
             name, pci);
    len = (uint32_t)strlen(cfg);
    memcpy(hdr.magic, magic, sizeof(magic));
    hdr.byteorder = 0x01020304u;
    hdr.mandatory_flags = 2; /* stream v2, config not JSON */
    hdr.optional_flags = 0;
    hdr.optional_len = 4 + len;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fwrite(&hdr, sizeof(hdr), 1, f);
    fwrite(&len, 4, 1, f);
    fwrite(cfg, 1, len, f);
    fclose(f);
}

/* xl restore of a guest saved with VF 1 of nvme0: reserved before libxl
 * restores it, committed, gated, its nodes published. */
START_TEST(xl_restore_reserves_and_gates)
{
    const char *args[] = {"restore", "-e", "web1.save", NULL};
    char *calls, *out;
    pid_t pid;

    write_save("web1.save", "web1", "0000:01:00.2");
    set_state("nvme0", XENVF_PF_PROBING);
    pid = start_xl(args);
    ck_assert(xl_says("xenvf: waiting for PF nvme0"));
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "restore 5 web1 pcidevs: 0000:01:00.2");
    ck_assert_ptr_null(strstr(calls, "unpause"));
    free(calls);
    ck_assert_uint_eq(penv_held_settles_to(1), 1);
    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(wait_xl(pid), 0);
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "xenvf: restoring domain web1: reserving the 1 VF "
                         "it had from xenvfd");
    ASSERT_CONTAINS(out, "xenvf: PF nvme0 VF 1 at 0000:01:00.2");
    ASSERT_CONTAINS(out, ", unpausing domain 5");
    ASSERT_MATCHES(out, "xenvf: domain web1 \\(5\\): restore steps in ms: "
                        "resolve " MS ", reserve " MS ", libxl " MS
                        ", commit " MS ", guest-nodes " MS ", plan " MS
                        " \\(the plugin's own " MS "\\)$");
    free(out);
    ck_assert(xs_wait("/xenvf/pf/nvme0/vf/1/domain", "5", 5000));
    ck_assert(xs_wait("/local/domain/5/xenvf/vf/0/bdf", "0000:01:00.2", 5000));
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* The saved guest's VF went to another domain meanwhile: no domain, a
 * message naming the VF and its holder. */
START_TEST(xl_restore_refuses_a_taken_vf)
{
    const char *args[] = {"restore", "-e", "web1.save", NULL};
    xenvf_client other;
    char *calls, *out;

    write_save("web1.save", "web1", "0000:01:00.2");
    set_state("nvme0", XENVF_PF_READY);
    penv_hold(&other, "web9", "nvme0", 1);
    ck_assert_int_ne(run_xl(args), 0);
    out = read_file("xl.out");
    calls = read_file("calls");
    ASSERT_CONTAINS(out, "cannot restore domain web1: ");
    ASSERT_CONTAINS(out, "web9");
    ck_assert_ptr_null(strstr(calls, "restore 5"));
    xenvf_client_dispose(&other);
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(out);
    free(calls);
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* The receiving side of xl migrate (localhost): the source still holds
 * the VF, so the incoming domain gets another VF of the same PF in its
 * place. */
START_TEST(xl_migrate_receive_takes_another_vf)
{
    const char *args[] = {"restore", "-e", "web1.save", NULL};
    xenvf_client other;
    char *calls;

    write_save("web1.save", "web1--incoming", "0000:01:00.2");
    set_state("nvme0", XENVF_PF_READY);
    penv_hold(&other, "web1", "nvme0", 1); /* the source */
    ck_assert_int_eq(run_xl(args), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "restore 5 web1--incoming pcidevs: 0000:01:00.1");
    free(calls);
    ck_assert(xs_wait("/xenvf/pf/nvme0/vf/0/domain", "5", 5000));
    xenvf_client_dispose(&other);
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* web1 built with its VF (nvme0#0) as domain 5. */
static void web1_holds_a_vf(void)
{
    const char *create[] = {"create", "-e", "web1.cfg", NULL};

    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(run_xl(create), 0);
    ck_assert_int_eq(penv_holder("nvme0", 0), 5);
}

/* xl save (migrate false) or xl migrate of domain 5 with XENVF_MIGRATE
 * set to mode (NULL: unset); xl's exit status. The migration's receiver
 * says it is ready, and after fake libxl's stream something else than
 * xl's "ready" message: the migration fails there, and xl resumes the
 * domain. */
static int save_or_migrate(bool migrate, const char *mode)
{
    const char *save[] = {"save", "5", "web1.save", "web1.cfg", NULL};
    const char *live[] = {
        "migrate",
        "-s",
        "",
        "-C",
        "web1.cfg",
        "5",
        "printf 'xl migration receiver ready, send binary domain data.\n';"
        " while read -r l; do case $l in *'libxl save stream')"
        " printf '%64s\\n' not-ready;; esac; done",
        NULL};
    int rc;

    if (mode)
        setenv("XENVF_MIGRATE", mode, 1);
    rc = run_xl(migrate ? live : save);
    unsetenv("XENVF_MIGRATE");
    return rc;
}

/* After a refusal: xl's output has what, libxl never suspended domain 5,
 * xl resumed it, and it still holds its VF. */
static void refused_and_kept(const char *what)
{
    char *calls = read_file("calls"), *out = read_file("xl.out");

    ASSERT_CONTAINS(out, what);
    ck_assert_ptr_null(strstr(calls, "suspend 5"));
    ck_assert_ptr_null(strstr(calls, "destroy 5"));
    ASSERT_CONTAINS(calls, "resume 5");
    ck_assert_int_eq(penv_holder("nvme0", 0), 5);
    free(out);
    free(calls);
    ASSERT_BOOKS_AGREE();
}

/* xl save of a domain holding a VF: refused before libxl suspends it (the
 * guest runs no migration component), the message says why and how to go
 * anyway, xl resumes the domain, which keeps its VF. */
START_TEST(xl_save_refuses_a_domain_with_a_vf)
{
    web1_holds_a_vf();
    ck_assert_int_ne(save_or_migrate(false, NULL), 0);
    refused_and_kept("xenvf: error: xl save of domain 5 with its VF nvme0#0: "
                     "refused, the domain keeps running with its VF. Xen "
                     "cannot copy a VF's state, and the guest does not run "
                     "xenvf's I/O switch (/local/domain/5/xenvf/vf/0/switch "
                     "is empty) to move its I/O off the VF first. "
                     "XENVF_MIGRATE=unplug-and-go in xl's environment saves "
                     "it anyway");
}
END_TEST

/* A value of XENVF_MIGRATE the plugin does not know is refused, naming
 * the ones it does. */
START_TEST(xl_save_unknown_mode_refused)
{
    web1_holds_a_vf();
    ck_assert_int_ne(save_or_migrate(false, "unplug-and-go-please"), 0);
    refused_and_kept("xl save of domain 5: XENVF_MIGRATE="
                     "'unplug-and-go-please': unknown (known: "
                     "unplug-and-go, or unset)");
}
END_TEST

/* After an xl save that went on: the plugin said `said`, libxl suspended
 * the domain and xl destroyed it; once it is gone, its VF is back. */
static void saved_and_freed(const char *said)
{
    char *calls, *out;

    out = read_file("xl.out");
    calls = read_file("calls");
    ASSERT_CONTAINS(out, said);
    ASSERT_CONTAINS(calls, "suspend 5 flags 0");
    ASSERT_CONTAINS(calls, "destroy 5");
    /* the destroyed domain goes, as on Xen: @releaseDomain */
    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0);
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(out);
    free(calls);
    ASSERT_BOOKS_AGREE();
}

/* XENVF_MIGRATE=unplug-and-go: xl save goes on (said loudly), libxl
 * suspends and xl destroys the domain, its VF goes back. */
START_TEST(xl_save_unplug_and_go)
{
    web1_holds_a_vf();
    ck_assert_int_eq(save_or_migrate(false, "unplug-and-go"), 0);
    saved_and_freed("xenvf: warning: xl save of domain 5 with its VF "
                    "nvme0#0: unplug-and-go (XENVF_MIGRATE)");
}
END_TEST

/* xl migrate (live) of a domain holding a VF, with or without
 * unplug-and-go: the plugin says why it fails and lets libxl go on (Xen
 * refuses log-dirty mode; fake libxl does not, the receiver here fails
 * instead); xl resumes the domain, the VF stays its. */
START_TEST(xl_migrate_says_why_it_fails)
{
    const char *modes[] = {NULL, "unplug-and-go"};

    web1_holds_a_vf();
    for (size_t i = 0; i < 2; i++) {
        char *calls, *out;

        ck_assert_int_eq(save_or_migrate(true, modes[i]), 1);
        out = read_file("xl.out");
        calls = read_file("calls");
        ASSERT_CONTAINS(out, "xenvf: error: xl migrate of domain 5 with its "
                             "VF nvme0#0: this fails, and the domain keeps "
                             "running with its VF: Xen refuses log-dirty "
                             "mode to a domain with a passed-through "
                             "device, and xl migrate moves the I/O off it "
                             "first only for a guest that serves xenvf's "
                             "I/O switch");
        ASSERT_CONTAINS(out, "Migration failed, resuming at sender.");
        ASSERT_MATCHES(calls, "^suspend 5 flags [1-9]");
        ASSERT_CONTAINS(calls, "resume 5");
        ck_assert_ptr_null(strstr(calls, "destroy 5"));
        ck_assert_int_eq(penv_holder("nvme0", 0), 5);
        free(out);
        free(calls);
    }
    ASSERT_BOOKS_AGREE();
}
END_TEST

/* What domain 5's xenvf-guest says of its VF 0's I/O (vf/0/switch). */
static void guest_switch_says(const char *text)
{
    ck_assert_int_eq(
        xenvf_xs_write(&E.xs, "/local/domain/5/xenvf/vf/0/switch", text, NULL),
        0);
}

/* A guest whose xenvf-guest serves the switch but whose I/O is still on
 * its VF, saved with a config file of its own (xl takes no config from
 * libxl, so the plugin moves nothing: iomove.h), is refused, saying when
 * xl save moves the I/O itself. */
START_TEST(xl_save_guest_on_its_vf_refused)
{
    web1_holds_a_vf();
    guest_switch_says("vf");
    ck_assert_int_ne(save_or_migrate(false, NULL), 0);
    refused_and_kept("the guest serves xenvf's I/O switch "
                     "(/local/domain/5/xenvf/vf/0/switch = 'vf') but its I/O "
                     "is not on the PV path, and xl save moves it there "
                     "itself only without a config file of its own, "
                     "without -c, and for VFs with one namespace each "
                     "(docs/migration.md)");
}
END_TEST

/* A guest whose I/O is on the PV path (its switch says "pv"): xl save
 * goes on without unplug-and-go, the VF goes back with the saved domain. */
START_TEST(xl_save_guest_on_the_pv_path)
{
    web1_holds_a_vf();
    guest_switch_says("pv paused=0.001500");
    ck_assert_int_eq(save_or_migrate(false, NULL), 0);
    saved_and_freed("xl save of domain 5 with its VF nvme0#0: the guest's "
                    "I/O is on the PV path (its xenvf-guest's switch says "
                    "'pv paused=0.001500')");
}
END_TEST

/* A VF with no disk in the map (net0's) has no second path: xl save is
 * refused naming it, even with the guest's storage I/O on the PV path. */
START_TEST(xl_save_refuses_a_vf_without_a_disk)
{
    const char *create[] = {"create", "-e", "web1.cfg", NULL};

    write_file("web1.cfg", "name = \"web1\"\ntype = \"pv\"\n"
                           "kernel = \"/boot/vmlinuz\"\nmemory = 128\n"
                           "vf = [ 'pf=nvme0', 'pf=net0' ]\n");
    set_state("nvme0", XENVF_PF_READY);
    ck_assert_int_eq(run_xl(create), 0);
    ck_assert_int_eq(penv_holder("net0", 0), 5);
    guest_switch_says("pv paused=0.001500");
    ck_assert_int_ne(save_or_migrate(false, NULL), 0);
    refused_and_kept("xenvf: error: xl save of domain 5 with its VFs net0#0 "
                     "nvme0#0: refused, the domain keeps running with its "
                     "VFs. net0#0 has no disk in the VF map (a NIC VF, or a "
                     "storage VF without a namespace): xenvf's I/O switch "
                     "moves a disk's I/O to the PF and back, and there is no "
                     "second path for it. XENVF_MIGRATE=unplug-and-go");
    ck_assert_int_eq(penv_holder("net0", 0), 5);
}
END_TEST

/* pci= naming a VF xenvf manages: refused while another domain holds
 * it (libxl would reset it under that domain); when free, reserved for
 * the new domain before libxl builds it and committed to it. */
START_TEST(xl_create_with_pci_vf_follows_the_books)
{
    const char *held[] = {"create", "-e", "plain.cfg", "pci=['0000:01:00.2']",
                          NULL};
    const char *free_vf[] = {"create", "-e", "plain.cfg",
                             "pci=['0000:01:00.3']", NULL};
    xenvf_client other;
    char *calls, *out;

    set_state("nvme0", XENVF_PF_READY);
    penv_hold(&other, "web9", "nvme0", 1);
    ck_assert_int_ne(run_xl(held), 0);
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "pci=: 0000:01:00.2 is PF nvme0 VF 1, which is "
                         "reserved: not giving it to the new domain");
    calls = read_file("calls");
    ck_assert_ptr_null(strstr(calls, "create 5"));
    free(calls);
    free(out);

    ck_assert_int_eq(run_xl(free_vf), 0);
    calls = read_file("calls");
    ASSERT_CONTAINS(calls, "create 5 plain pcidevs: 0000:01:00.3");
    free(calls);
    /* reserved for the domain before libxl assigned it (a FLASK host
     * checks the label xenvfd gives it then), committed after */
    ck_assert(log_has("pf nvme0: vf 2 reserved for plain (connection"));
    ck_assert(log_has("domain plain is domid 5: 1 VF(s) active"));
    ck_assert(xs_wait("/xenvf/pf/nvme0/vf/2/domain", "5", 5000));
    ck_assert(xs_wait("/xenvf/pf/nvme0/vf/2/state", "active", 5000));
    xenvf_client_dispose(&other);
    ASSERT_BOOKS_AGREE();
}
END_TEST

START_TEST(xl_create_fails_in_libxl)
{
    const char *args[] = {"create", "-e", "web1.cfg", NULL};
    char *out;

    write_file("fail-create", "1\n");
    ck_assert_int_ne(run_xl(args), 0);
    out = read_file("xl.out");
    ASSERT_CONTAINS(out, "libxl could not build domain web1");
    ck_assert_uint_eq(penv_held_settles_to(0), 0);
    free(out);
}
END_TEST

static Suite *xl_suite(void)
{
    Suite *s = suite_create("xl_plugin");
    TCase *tc = tcase_create("real xl");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, xl_create_without_vf);
    tcase_add_test(tc, xl_create_with_vf);
    tcase_add_test(tc, xl_command_line_override);
    tcase_add_test(tc, xl_pci_defaults_reach_the_vfs);
    tcase_add_test(tc, xl_behind_a_shell_wrapper);
    tcase_add_test(tc, xl_refuses_a_bad_vf);
    tcase_add_test(tc, xl_gate_timeout_exits_nonzero);
    tcase_add_test(tc, xl_create_paused_then_xl_unpause);
    tcase_add_test(tc, xl_interrupted_while_waiting);
    tcase_add_test(tc, xl_destroyed_while_waiting);
    tcase_add_test(tc, xl_pci_attach_follows_the_books);
    tcase_add_test(tc, xl_restore_reserves_and_gates);
    tcase_add_test(tc, xl_unpause_moves_back_what_a_paused_restore_left);
    tcase_add_test(tc, xl_restore_refuses_a_taken_vf);
    tcase_add_test(tc, xl_migrate_receive_takes_another_vf);
    tcase_add_test(tc, xl_save_refuses_a_domain_with_a_vf);
    tcase_add_test(tc, xl_save_unknown_mode_refused);
    tcase_add_test(tc, xl_save_unplug_and_go);
    tcase_add_test(tc, xl_migrate_says_why_it_fails);
    tcase_add_test(tc, xl_save_guest_on_its_vf_refused);
    tcase_add_test(tc, xl_save_guest_on_the_pv_path);
    tcase_add_test(tc, xl_save_refuses_a_vf_without_a_disk);
    tcase_add_test(tc, xl_create_with_pci_vf_follows_the_books);
    tcase_add_test(tc, xl_create_fails_in_libxl);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (access(XL_BINARY, X_OK)) {
        /* xen-utils-<release> is in tools/deps/base.list; say so if missing */
        fprintf(stderr, "test_xl_plugin: %s: %s\n", XL_BINARY, strerror(errno));
        return EXIT_FAILURE;
    }
    return xenvf_check_run(xl_suite());
}
