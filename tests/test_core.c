/* test_core.c - sections 1-3: result codes and details, the RNG, size arithmetic, file reading and
   crash-safe writing, the parameter registry; and every failure path, by an allocator that fails
   at the n-th call and counts what is still outstanding (so a failure that leaks shows up too).
   cc -std=c99 -O2 -o test_core tests/test_core.c -lm && ./test_core */
#define _POSIX_C_SOURCE 200809L /* setrlimit, for the file-size limit ("disk full") test */
#include <stdlib.h>
#include <stdio.h>
#include <float.h> /* FLT_MIN, FLT_MAX for the exp sweep */
#if defined(__unix__)
#include <signal.h>
#include <sys/resource.h>
#endif

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

static void test_results(void) {
    const ss_result all[] = {SS_OK, SS_ERR_NOMEM, SS_ERR_INVALID, SS_ERR_OVERFLOW, SS_ERR_IO,
                             SS_ERR_FORMAT, SS_ERR_NOT_FOUND, SS_ERR_NOT_CONVERGED,
                             SS_ERR_NONFINITE};
    size_t i, j, n = sizeof all / sizeof all[0];
    int distinct = 1, negative = 1;
    for (i = 0; i < n; i++) {
        if (i > 0 && (int)all[i] >= 0) negative = 0;
        for (j = 0; j < i; j++)
            if (strcmp(ss_result_string(all[i]), ss_result_string(all[j])) == 0) distinct = 0;
    }
    test_true(SS_OK == 0 && negative, "results: SS_OK is 0, errors negative");
    test_true(distinct, "results: every code has its own string");
    test_true(strcmp(ss_result_string((ss_result)-999), "unknown result") == 0,
              "results: unknown code");
    test_true(strncmp(ss_build_info(), "subspace " SS_VERSION_STRING " gemm=", 19) == 0,
              "build info names version and gemm");
}

static void test_rng(void) {
    ss_rng a, b, c, child1, child2, child1_again;
    int i, same = 1, differ = 0, in_range = 1;
    double sum = 0, sum2 = 0;
    const int n = 200000;
    ss_rng_seed(&a, 42);
    ss_rng_seed(&b, 42);
    ss_rng_seed(&c, 43);
    for (i = 0; i < 1000; i++) {
        uint64_t x = ss_rng_u64(&a);
        if (x != ss_rng_u64(&b)) same = 0;
        if (x != ss_rng_u64(&c)) differ = 1;
    }
    test_true(same, "rng: same seed, same stream");
    test_true(differ, "rng: different seed, different stream");
    ss_rng_seed(&a, 0);
    test_true(a.state != 0, "rng: seed 0 gives a usable state");

    ss_rng_seed(&a, 7);
    b = a;
    child1 = ss_rng_split(&a, 1);
    child2 = ss_rng_split(&a, 2);
    child1_again = ss_rng_split(&a, 1);
    test_true(a.state == b.state, "rng split: parent not advanced");
    test_true(ss_rng_u64(&child1) == ss_rng_u64(&child1_again), "rng split: same stream, same numbers");
    test_true(child1.state != child2.state, "rng split: streams differ");

    ss_rng_seed(&a, 1);
    for (i = 0; i < n; i++) {
        float u = ss_rng_uniform(&a);
        if (!(u >= 0.0f && u < 1.0f)) in_range = 0;
    }
    test_true(in_range, "rng: uniform in [0,1)");
    for (i = 0; i < n; i++) {
        double z = ss_rng_normal(&a, 0.5f, 2.0f);
        sum += z;
        sum2 += z * z;
    }
    {
        double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
        /* standard error of the mean is 2/sqrt(2e5) = 0.0045: 0.03 is over 6 of them */
        test_report(fabs(mean - 0.5) < 0.03 && fabs(sd - 2.0) < 0.03, "rng: normal mean and std",
                    fabs(mean - 0.5) + fabs(sd - 2.0));
    }
}

static void test_sizes(void) {
    size_t out = 0;
    test_true(ss__mul_size(3, 5, &out) && out == 15, "size: 3*5");
    test_true(!ss__mul_size(SIZE_MAX / 2 + 1, 2, &out), "size: multiplication overflow caught");
    test_true(ss__mul_size(SIZE_MAX, 0, &out) && out == 0, "size: times zero");
    test_true(!ss__add_size(SIZE_MAX, 1, &out), "size: addition overflow caught");
}

static void test_files(void) {
    const char *path = "build/test/core_file.bin";
    const char *missing_dir = "build/test/no/such/dir/file.bin";
    char *data = NULL;
    size_t size = 0;
    ss_writer w;
    ss_result r;
    FILE *f;

    r = ss_file_write_atomic(path, "hello", 5);
    test_true(r == SS_OK, "file: atomic write");
    r = ss_file_read(path, &data, &size);
    test_true(r == SS_OK && size == 5 && memcmp(data, "hello", 5) == 0 && data[5] == '\0',
              "file: read back, NUL-terminated");
    ss_free(data);

    /* An aborted writer leaves the old file intact and no temporary behind. */
    test_true(ss_writer_init(&w, path) == SS_OK, "writer: init");
    ss_writer_write(&w, "partial", 7);
    ss_writer_free(&w);
    r = ss_file_read(path, &data, &size);
    test_true(r == SS_OK && size == 5 && memcmp(data, "hello", 5) == 0,
              "writer: abandoned write keeps the old file");
    ss_free(data);
    f = fopen("build/test/core_file.bin.tmp", "rb");
    test_true(f == NULL, "writer: abandoned write removes its temporary");
    if (f) fclose(f);

    r = ss_file_read("build/test/does-not-exist", &data, &size);
    test_true(r == SS_ERR_IO && detail_has("does-not-exist") && data == NULL,
              "file: missing file names the path");
    r = ss_file_write_atomic(missing_dir, "x", 1);
    test_true(r == SS_ERR_IO && detail_has("no/such/dir"), "writer: bad directory names the path");

    /* A larger file crosses the read chunk boundary. */
    {
        size_t n = 200000, i;
        char *big = (char *)malloc(n);
        int ok;
        for (i = 0; i < n; i++) big[i] = (char)('a' + i % 26);
        ok = ss_file_write_atomic(path, big, n) == SS_OK && ss_file_read(path, &data, &size) == SS_OK &&
             size == n && memcmp(data, big, n) == 0;
        test_true(ok, "file: 200 kB round trip");
        ss_free(data);
        free(big);
    }
    remove(path);
}

/* A write that runs out of space (here: a file-size limit, which fails writes with EFBIG just as a
   full disk fails them with ENOSPC) is an SS_ERR_IO naming the file, and the previous file stays. */
static void test_write_limit(void) {
#if defined(__unix__)
    const char *path = "build/test/core_limit.bin";
    struct rlimit old, small;
    static char big[1 << 20];
    char *data = NULL;
    size_t size = 0;
    ss_result r;
    FILE *f;
    test_true(ss_file_write_atomic(path, "old", 3) == SS_OK, "write limit: previous file written");
    if (getrlimit(RLIMIT_FSIZE, &old) != 0) return;
    small = old;
    small.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN); /* report EFBIG instead of killing the process */
    if (setrlimit(RLIMIT_FSIZE, &small) != 0) return;
    memset(big, 'x', sizeof big);
    r = ss_file_write_atomic(path, big, sizeof big);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    test_true(r == SS_ERR_IO && detail_has("core_limit.bin"), "write limit: SS_ERR_IO naming the file");
    r = ss_file_read(path, &data, &size);
    test_true(r == SS_OK && size == 3 && memcmp(data, "old", 3) == 0, "write limit: previous file intact");
    ss_free(data);
    f = fopen("build/test/core_limit.bin.tmp", "rb");
    test_true(f == NULL, "write limit: no temporary left behind");
    if (f) fclose(f);
    remove(path);
#endif
}

static void test_params(void) {
    ss_params p;
    int s2[2] = {3, 5}, s1[1] = {7}, bad[2] = {3, 0}, idx = -1, i;
    char long_name[SS_MAX_NAME + 8];
    unsigned char *raw;
    memset(&p, 0, sizeof p);
    test_true(ss_params_add(&p, "a.weight", 2, s2, 0, &idx) == SS_OK && idx == 0, "params: add");
    test_true(ss_params_add(&p, "a.bias", 1, s1, SS_PARAM_NO_DECAY, &idx) == SS_OK && idx == 1,
              "params: add second");
    test_true(ss_params_add(&p, "a.weight", 1, s1, 0, NULL) == SS_ERR_INVALID && detail_has("a.weight"),
              "params: duplicate name rejected, named");
    test_true(ss_params_add(&p, "c", 2, bad, 0, NULL) == SS_ERR_INVALID && detail_has("dimension 1"),
              "params: zero dimension rejected");
    test_true(ss_params_add(&p, "c", 5, s2, 0, NULL) == SS_ERR_INVALID, "params: ndim 5 rejected");
    test_true(ss_params_add(&p, "", 1, s1, 0, NULL) == SS_ERR_INVALID, "params: empty name rejected");
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    test_true(ss_params_add(&p, long_name, 1, s1, 0, NULL) == SS_ERR_INVALID, "params: long name rejected");
    test_true(p.count == 2 && p.tensors[1].offset % 16 == 0 && p.tensors[1].offset >= 15 &&
                  p.numel % 16 == 0,
              "params: offsets aligned to 16 floats");
    test_true(ss_params_init(&p) == SS_OK, "params: init");
    test_true(ss_params_add(&p, "late", 1, s1, 0, NULL) == SS_ERR_INVALID, "params: add after init rejected");
    test_true(((uintptr_t)p.param % 64) == 0 && ((uintptr_t)p.grad % 64) == 0 &&
                  ((uintptr_t)p.v % 64) == 0,
              "params: blocks 64-byte aligned");
    test_true(ss_params_find(&p, "a.bias") == 1 && ss_params_find(&p, "zzz") == -1, "params: find");
    test_true(ss_params_data(&p, 1) == p.param + p.tensors[1].offset &&
                  ss_params_grad(&p, 1) == p.grad + p.tensors[1].offset,
              "params: data and grad views");
    for (i = 0; i < 15; i++) ss_params_grad(&p, 0)[i] = 1.0f;
    ss_params_zero_grad(&p);
    test_true(ss_params_grad(&p, 0)[14] == 0.0f, "params: zero_grad");
    ss_params_free(&p);
    ss_params_free(&p); /* freeing twice is harmless */
    test_true(p.count == 0 && p.memory == NULL, "params: free leaves the struct zeroed");

    /* Caller memory at an odd address still gives aligned blocks. */
    memset(&p, 0, sizeof p);
    ss_params_add(&p, "w", 2, s2, 0, NULL);
    raw = (unsigned char *)malloc(ss_params_memory_size(&p) + 3);
    ss_params_init_preallocated(&p, raw + 3);
    test_true(((uintptr_t)p.param % 64) == 0 && p.v + p.numel <= (float *)(void *)(raw + 3 + ss_params_memory_size(&p)),
              "params: preallocated memory aligned and within bounds");
    ss_params_data(&p, 0)[14] = 2.0f;
    ss_params_free(&p); /* does not free caller memory */
    free(raw);
}

/* ss__zero clears spans of several chunks on all threads: every float of [p, p+n) and nothing
   around it, for lengths below, at and across chunk boundaries. */
static void test_zero(void) {
    const size_t lens[] = {0, 1, 17, SS__ZERO_CHUNK - 1, SS__ZERO_CHUNK, SS__ZERO_CHUNK + 1,
                           3 * SS__ZERO_CHUNK + 77};
    const size_t cap = 3 * SS__ZERO_CHUNK + 79;
    float *buf = test_alloc(cap);
    size_t k, i;
    for (k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t bad = 0;
        char name[80];
        for (i = 0; i < cap; i++) buf[i] = 1.5f;
        ss__zero(buf + 1, lens[k]);
        for (i = 0; i < cap; i++) bad += buf[i] != (i >= 1 && i <= lens[k] ? 0.0f : 1.5f);
        snprintf(name, sizeof name, "zero: %lu floats cleared, nothing around them",
                 (unsigned long)lens[k]);
        test_true(bad == 0, name);
    }
    ss__zero(NULL, 5); /* a missing buffer is left alone */
    free(buf);
}

/* Every allocation site of sections 2-3, failed one at a time: each returns its error with a
   detail, and nothing stays allocated afterwards. */
static void test_allocation_failures(void) {
    long at;
    int all_reported = 1, none_leaked = 1, tried = 0;
    /* the registry: growing the table (at 0) and the blocks (at 1); 100 tensors grow it twice */
    for (at = 0; at < 100; at++) { /* bounded: a loop that never succeeds is a failure too */
        ss_params p;
        ss_result r = SS_OK;
        int i, shape[1] = {3};
        char name[32];
        memset(&p, 0, sizeof p);
        arm_failure(at);
        for (i = 0; i < 100 && r == SS_OK; i++) {
            sprintf(name, "t%d", i);
            r = ss_params_add(&p, name, 1, shape, 0, NULL);
        }
        if (r == SS_OK) r = ss_params_init(&p);
        ss_params_free(&p);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break; /* no allocation left to fail */
        tried++;
        if (r != SS_ERR_NOMEM || ss_last_error_detail()[0] == '\0') all_reported = 0;
    }
    test_true(tried == 3 && all_reported && none_leaked,
              "alloc failure: registry (3 sites) reports NOMEM, leaks nothing");

    arm_failure(-1);
    test_true(ss_file_write_atomic("build/test/core_alloc.bin", "abc", 3) == SS_OK,
              "alloc failure: setup file written");
    for (at = 0, tried = 0; at < 100; at++) {
        char *data = NULL;
        size_t size;
        ss_result r;
        arm_failure(at);
        r = ss_file_read("build/test/core_alloc.bin", &data, &size);
        ss_free(data);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("core_alloc.bin")) all_reported = 0;
    }
    test_true(tried == 1 && all_reported && none_leaked, "alloc failure: file read names the file");

    for (at = 0, tried = 0; at < 100; at++) {
        ss_result r;
        arm_failure(at);
        r = ss_file_write_atomic("build/test/core_alloc.bin", "abc", 3);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("core_alloc.bin")) all_reported = 0;
    }
    test_true(tried == 2 && all_reported && none_leaked, "alloc failure: writer names the file");
    arm_failure(-1);
    remove("build/test/core_alloc.bin");
}

/* The built-in e^x: within 2 ulp of exp in double over the whole normal range (a sweep of 2^24
   points from -104 to 89), exactly 0 below -104 and for
   -inf, inf above ln(FLT_MAX), NaN for NaN; the array form gives the scalar form's bits. */
static void test_expf(void) {
    enum { N = 1 << 16 };
    static float x[N], y[N];
    double max_ulp = 0.0;
    long bad_bits = 0, i, base;
    /* sixteen, so that every lane of the widest vector (AVX-512F) sees a special value or an
       edge of the range; the second eight are checked against the scalar form bit for bit */
    const float special[16] = {-INFINITY, INFINITY, NAN,    0.0f,    89.5f,  -104.5f,
                               88.7f,     -0.0f,    -103.9f, 88.72f, -87.3f, 1e-30f,
                               -1e-30f,   -NAN,     -104.0f, 89.0f};
    float sp[16];
    int same = 1;
    for (base = 0; base < (1L << 24); base += N) {
        for (i = 0; i < N; i++) x[i] = -104.0f + (float)(base + i) * (193.0f / (float)(1L << 24));
        ss__exp_shift(y, x, 0.0f, N);
        for (i = 0; i < N; i++) {
            const float s = ss__expf(x[i]);
            const double e = exp((double)x[i]);
            bad_bits += memcmp(&s, &y[i], sizeof s) != 0;
            if (e >= FLT_MIN && e <= FLT_MAX) {
                const double u = fabs((double)y[i] - e) / ldexp(1.0, ilogb((float)e) - 23);
                if (u > max_ulp) max_ulp = u;
            }
        }
    }
    printf("# ss__expf: max error %.3f ulp over 2^24 points in [-104, 89]\n", max_ulp);
    test_true(max_ulp <= 2.0, "ss__expf within 2 ulp of exp over [-104, 89]");
    test_true(bad_bits == 0, "ss__exp_shift (vector lanes) gives ss__expf's bits");
    for (i = 0; i < 16; i++) x[i] = special[i] + 1.0f; /* the shift is subtracted first */
    ss__exp_shift(sp, x, 1.0f, 16);
    for (i = 8; i < 16; i++) {
        const float s = ss__expf(x[i] - 1.0f);
        same &= memcmp(&s, &sp[i], sizeof s) == 0 || (s != s && sp[i] != sp[i]);
    }
    test_true(same, "ss__exp_shift: edge lanes (-104, 89, -87.3, -NaN) give ss__expf's bits");
    test_true(sp[0] == 0.0f && sp[1] == INFINITY && sp[2] != sp[2] && sp[3] == 1.0f &&
                  sp[4] == INFINITY && sp[5] == 0.0f && sp[6] > 3.3e38f && sp[6] < 3.4e38f &&
                  sp[7] == 1.0f,
              "ss__exp_shift: -inf -> 0, inf -> inf, NaN -> NaN, 0 -> 1, overflow -> inf, < -104 -> 0");
    test_true(ss__expf(-INFINITY) == 0.0f && ss__expf(NAN) != ss__expf(NAN) &&
                  ss__expf(100.0f) == INFINITY && ss__expf(-1000.0f) == 0.0f,
              "ss__expf special values");
}

/* Attention dropout's keep decisions: the run form (vector lanes under AVX2) makes the decisions
   of the one-key form, at any start and length, and keeps about 1-p of them. */
static void test_drop_decisions(void) {
    float f[203];
    long kept = 0, total = 0, bad = 0;
    uint64_t row;
    int j;
    for (row = 0; row < 500; row++) {
        const uint32_t key = ss__drop_row_key(UINT64_C(0x1234567), row);
        const int j0 = (int)(row % 7), n = 203 - (int)(row % 13);
        ss__drop_factors(f, key, j0, n, 0.3f, 2.0f);
        for (j = 0; j < n; j++) {
            bad += f[j] != (ss__drop_keep(key, j0 + j, 0.3f) ? 2.0f : 0.0f);
            kept += f[j] != 0.0f, total++;
        }
    }
    printf("# dropout decisions: %ld of %ld kept (p = 0.3)\n", kept, total);
    test_true(bad == 0, "ss__drop_factors makes ss__drop_keep's decisions");
    test_true(fabs((double)kept / (double)total - 0.7) < 0.01, "dropout keeps ~70% at p = 0.3");
}

int main(void) {
    printf("%s\n", ss_build_info());
    test_results();
    test_rng();
    test_expf();
    test_drop_decisions();
    test_sizes();
    test_files();
    test_write_limit();
    test_params();
    test_zero();
    test_allocation_failures();
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_core");
}
