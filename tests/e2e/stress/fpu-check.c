/* fpu-check SECONDS [KIND]: keep a pattern in xmm0-xmm7 and verify it
 * survives while the CPU is shared with other vCPUs. Prints counts. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned char pat[16] __attribute__((aligned(16)));

/* returns the pmovmskb mask of xmmN compared to pat (0xffff: equal) */
#define CHECK(n)                                                               \
    ({                                                                         \
        unsigned m;                                                            \
        __asm__ volatile("movdqa %%xmm" #n ", %%xmm15\n\t"                     \
                         "pcmpeqb %1, %%xmm15\n\t"                             \
                         "pmovmskb %%xmm15, %0"                                \
                         : "=r"(m)                                             \
                         : "m"(pat)                                            \
                         : "xmm15");                                           \
        m;                                                                     \
    })

int main(int argc, char **argv)
{
    int secs = argc > 1 ? atoi(argv[1]) : 30;
    pid_t pid = getpid();
    for (int i = 0; i < 16; i++)
        pat[i] = (unsigned char)(pid * 7 + i * 13);
    __asm__ volatile(
        "movdqa %0, %%xmm0\n\tmovdqa %0, %%xmm1\n\tmovdqa %0, %%xmm2\n\t"
        "movdqa %0, %%xmm3\n\tmovdqa %0, %%xmm4\n\tmovdqa %0, %%xmm5\n\t"
        "movdqa %0, %%xmm6\n\tmovdqa %0, %%xmm7\n\t" ::"m"(pat)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
    time_t end = time(NULL) + secs;
    unsigned long checks = 0, bad = 0;
    while (time(NULL) < end) {
        for (volatile int k = 0; k < 20000; k++)
            ;
        unsigned m0 = CHECK(0), m1 = CHECK(1), m2 = CHECK(2), m3 = CHECK(3),
                 m4 = CHECK(4), m5 = CHECK(5), m6 = CHECK(6), m7 = CHECK(7);
        checks++;
        if ((m0 & m1 & m2 & m3 & m4 & m5 & m6 & m7) != 0xffff) {
            bad++;
            printf("FPU-CHECK pid %d: xmm lost its value (masks %x %x %x %x %x "
                   "%x %x %x)\n",
                   pid, m0, m1, m2, m3, m4, m5, m6, m7);
            fflush(stdout);
            __asm__ volatile(
                "movdqa %0, %%xmm0\n\tmovdqa %0, %%xmm1\n\tmovdqa %0, "
                "%%xmm2\n\t"
                "movdqa %0, %%xmm3\n\tmovdqa %0, %%xmm4\n\tmovdqa %0, "
                "%%xmm5\n\t"
                "movdqa %0, %%xmm6\n\tmovdqa %0, %%xmm7\n\t" ::"m"(pat)
                : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                  "xmm7");
        }
    }
    printf("FPU-CHECK RESULT pid %d checks %lu bad %lu\n", pid, checks, bad);
    return bad != 0;
}
