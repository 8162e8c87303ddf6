/* The TCB protocol: JSON encode/decode, field-naming errors, and the
 * client's framing against a small server in a child process. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenvf/client.h>
#include <xenvf/text.h>
#include "../harness/check-main.h"

static xenvf_err err;

START_TEST(request_round_trip)
{
    xenvf_request r, back;
    xenvf_vf_request *v;
    char *json = NULL, *json2 = NULL;

    xenvf_request_init(&r);
    xenvf_request_init(&back);
    r.op = XENVF_OP_RESERVE;
    r.domain = strdup("web1");
    v = xenvf_request_add_vf(&r);
    v->pf = strdup("nvme0");
    v->index = 1;
    v->config.function = strdup("nvme");
    v->config.boot = 1;
    v = xenvf_request_add_vf(&r);
    v->pf = strdup("net0");
    ck_assert_int_eq(xenvf_mac_parse("00:16:3e:00:00:01", v->config.mac, NULL),
                     0);
    v->config.has_mac = true;
    v->config.vlan = 10;
    v->config.trust = 0;
    v->config.spoofchk = 1;
    v->config.rate_mbps = 1000;

    ck_assert_int_eq(xenvf_request_encode(&r, &json, &err), 0);
    ck_assert_ptr_null(strchr(json, '\n'));
    ck_assert_msg(!xenvf_request_decode(json, strlen(json), &back, &err), "%s",
                  err.msg);
    ck_assert_int_eq(back.op, XENVF_OP_RESERVE);
    ck_assert_str_eq(back.domain, "web1");
    ck_assert_uint_eq(back.domid, XENVF_DOMID_NONE);
    ck_assert_uint_eq(back.nr_vfs, 2);
    ck_assert_str_eq(back.vfs[0].pf, "nvme0");
    ck_assert_int_eq(back.vfs[0].index, 1);
    ck_assert_str_eq(back.vfs[0].config.function, "nvme");
    ck_assert_int_eq(back.vfs[0].config.boot, 1);
    ck_assert_int_eq(back.vfs[1].index, -1);
    ck_assert(back.vfs[1].config.has_mac);
    ck_assert_int_eq(back.vfs[1].config.vlan, 10);
    ck_assert_int_eq(back.vfs[1].config.trust, 0);
    ck_assert_int_eq(back.vfs[1].config.spoofchk, 1);
    ck_assert_int_eq(back.vfs[1].config.rate_mbps, 1000);
    /* encoding is deterministic: the second pass gives the same bytes */
    ck_assert_int_eq(xenvf_request_encode(&back, &json2, &err), 0);
    ck_assert_str_eq(json, json2);
    free(json);
    free(json2);
    xenvf_request_dispose(&back);
    xenvf_request_dispose(&r);
}
END_TEST

START_TEST(response_round_trip)
{
    xenvf_response r, back;
    xenvf_vf_grant *g;
    char *json = NULL;

    xenvf_response_init(&r);
    xenvf_response_init(&back);
    g = xenvf_response_add_vf(&r);
    g->pf = strdup("nvme0");
    g->index = 3;
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.4", &g->bdf, NULL), 0);
    ck_assert_int_eq(xenvf_response_encode(&r, &json, &err), 0);
    ck_assert_int_eq(xenvf_response_decode(json, strlen(json), &back, &err), 0);
    ck_assert_int_eq(back.rc, 0);
    ck_assert_uint_eq(back.nr_vfs, 1);
    ck_assert_str_eq(back.vfs[0].pf, "nvme0");
    ck_assert_uint_eq(back.vfs[0].index, 3);
    ck_assert_uint_eq(back.vfs[0].bdf.func, 4);
    free(json);
    xenvf_response_dispose(&r);

    /* a refusal keeps its code and message */
    r.rc = XENVF_EBUSY;
    r.error = strdup("pf nvme0: vf 1 is held by domain web2");
    ck_assert_int_eq(xenvf_response_encode(&r, &json, &err), 0);
    ck_assert_int_eq(xenvf_response_decode(json, strlen(json), &back, &err), 0);
    ck_assert_int_eq(back.rc, XENVF_EBUSY);
    ck_assert_str_eq(back.error, r.error);
    free(json);
    xenvf_response_dispose(&back);
    xenvf_response_dispose(&r);
}
END_TEST

/* Every bad request is refused with a message naming the field. */
START_TEST(bad_requests_name_the_field)
{
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"", "bad JSON"},
        {"[1]", "message: not an object"},
        {"{\"op\":\"ping\",\"op\":\"reserve\"}", "key 'op' appears twice"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"pf\":\"m\"}]}",
         "vfs[0]: key 'pf' appears twice"},
        {"{\"domain\":\"a\"}", "op: missing"},
        {"{\"op\":\"steal\"}", "op: unknown operation"},
        {"{\"op\":\"ping\",\"x\":1}", "x: unknown key"},
        {"{\"op\":\"reserve\",\"domain\":\"a\"}", "reserve: needs"},
        {"{\"op\":\"reserve\",\"domain\":\"a b\",\"vfs\":[{\"pf\":\"n\"}]}",
         "domain: character 2"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{}]}", "vfs[0]: no pf"},
        /* the VF map's rules: names [A-Za-z0-9_.-], functions add :+ */
        {"{\"op\":\"reserve\",\"domain\":\"a+b\",\"vfs\":[{\"pf\":\"n\"}]}",
         "domain: character 2"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"function\":\"nv@me\"}]}",
         "vfs[0].function: character '@' is not allowed"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n/0\"}]}",
         "vfs[0].pf: character 2"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\"},"
         "{\"pf\":\"n\",\"vlan\":4095}]}",
         "vfs[1].vlan: 4095 is out of range 0-4094"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"index\":-1}]}",
         "vfs[0].index: -1 is out of range"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"index\":99999999999999999999999}]}",
         "vfs[0].index: not an integer"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"mac\":\"01:00:00:00:00:00\"}]}",
         "vfs[0].mac 01:00:00:00:00:00 is a multicast"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"trust\":1}]}",
         "vfs[0].trust: not true or false"},
        {"{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[{\"pf\":\"n\","
         "\"boot\":0}]}",
         "vfs[0].boot: 0 is out of range 1-65535"},
        {"{\"op\":\"commit\",\"domain\":\"a\"}", "commit: needs"},
        {"{\"op\":\"commit\",\"domain\":\"a\",\"domid\":32752}",
         "domid: 32752 is out of range"},
        {"{\"op\":\"release\"}", "release: needs"},
        {"{\"op\":\"release\",\"domid\":1,\"vfs\":[{\"pf\":\"n\"}]}",
         "release: takes no"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xenvf_request r;

        xenvf_request_init(&r);
        ck_assert_msg(xenvf_request_decode(bad[i].json, strlen(bad[i].json), &r,
                                           &err) != 0,
                      "accepted: %s", bad[i].json);
        ck_assert_msg(strstr(err.msg, bad[i].want), "%s -> '%s'", bad[i].json,
                      err.msg);
        ck_assert_ptr_null(r.domain); /* nothing half-decoded is left */
        ck_assert_uint_eq(r.nr_vfs, 0);
    }
}
END_TEST

START_TEST(oversized_requests_are_refused)
{
    size_t n = XENVF_PROTO_MAX_LINE + 1;
    char *big = malloc(n);
    xenvf_request r;
    char json[8192];
    int off;

    memset(big, ' ', n);
    xenvf_request_init(&r);
    ck_assert_int_eq(xenvf_request_decode(big, n, &r, &err), XENVF_ERANGE);
    free(big);

    off = snprintf(json, sizeof(json),
                   "{\"op\":\"reserve\",\"domain\":\"a\",\"vfs\":[");
    for (int i = 0; i <= XENVF_PROTO_MAX_VFS; i++)
        off += snprintf(json + off, sizeof(json) - off, "%s{\"pf\":\"n\"}",
                        i ? "," : "");
    snprintf(json + off, sizeof(json) - off, "]}");
    ck_assert_int_eq(xenvf_request_decode(json, strlen(json), &r, &err),
                     XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most 64"));
    ck_assert_int_eq(xenvf_request_decode("{\"op\":\"ping\"}\0x", 15, &r, &err),
                     XENVF_EINVAL);
}
END_TEST

/* A one-shot server: answers each request line with `reply` (or nothing,
 * or closes), then exits. */
static pid_t serve(const char *path, const char *reply, int nr_requests)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;

    strcpy(sa.sun_path, path);
    unlink(path);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    pid = fork();
    if (pid == 0) {
        int fd = accept(lfd, NULL, NULL);
        char buf[4096] = "";
        for (int i = 0; i < nr_requests; i++) {
            size_t got = 0;
            while (!memchr(buf, '\n', got)) {
                ssize_t r = read(fd, buf + got, sizeof(buf) - got);
                if (r <= 0)
                    _exit(1);
                got += (size_t)r;
            }
            if (!reply)
                _exit(0); /* close without answering */
            /* answer in two pieces to exercise the client's buffering */
            size_t half = strlen(reply) / 2;
            if (write(fd, reply, half) < 0 ||
                (usleep(10000), write(fd, reply + half, strlen(reply) - half)) <
                    0)
                _exit(1);
        }
        pause();
        _exit(0);
    }
    close(lfd);
    return pid;
}

START_TEST(client_calls_a_server)
{
    char path[] = "/tmp/xenvf-proto-XXXXXX";
    char sock[64];
    xenvf_client c;
    xenvf_request req;
    xenvf_response resp;
    pid_t pid;

    ck_assert_ptr_nonnull(mkdtemp(path));
    snprintf(sock, sizeof(sock), "%s/s", path);
    pid = serve(sock,
                "{\"ok\":false,\"code\":\"EBUSY\",\"error\":\"held\"}\n"
                "{\"ok\":true}\n",
                1);
    xenvf_client_init(&c);
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    ck_assert_int_eq(xenvf_client_connect(&c, sock, &err), 0);
    req.op = XENVF_OP_PING;
    ck_assert_msg(!xenvf_client_call(&c, &req, &resp, 5000, &err), "%s",
                  err.msg);
    ck_assert_int_eq(resp.rc, XENVF_EBUSY);
    ck_assert_str_eq(resp.error, "held");
    /* the second line was already buffered: no read needed */
    ck_assert_int_eq(xenvf_client_call(&c, &req, &resp, 5000, &err), 0);
    ck_assert_int_eq(resp.rc, 0);
    xenvf_client_dispose(&c);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* a server that never answers: a timeout, not a hang */
    pid = serve(sock, "", 1);
    ck_assert_int_eq(xenvf_client_connect(&c, sock, &err), 0);
    ck_assert_int_eq(xenvf_client_call(&c, &req, &resp, 200, &err),
                     XENVF_ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "ping: xenvfd did not answer"));
    xenvf_client_dispose(&c);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* a server that hangs up */
    pid = serve(sock, NULL, 1);
    ck_assert_int_eq(xenvf_client_connect(&c, sock, &err), 0);
    ck_assert_int_eq(xenvf_client_call(&c, &req, &resp, 5000, &err), XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "closed the connection"));
    xenvf_client_dispose(&c);
    waitpid(pid, NULL, 0);

    /* nobody listening: ENOENT naming the socket */
    unlink(sock);
    ck_assert_int_eq(xenvf_client_connect(&c, sock, &err), XENVF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, sock));
    xenvf_response_dispose(&resp);
    rmdir(path);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("json");

    tcase_add_test(tc, request_round_trip);
    tcase_add_test(tc, response_round_trip);
    tcase_add_test(tc, bad_requests_name_the_field);
    tcase_add_test(tc, oversized_requests_are_refused);
    tcase_add_test(tc, client_calls_a_server);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(proto_suite)
