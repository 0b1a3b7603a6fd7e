/*
 * Native peers for scripts/bench-peers: Hyperscan (libhs) and PCRE2 (JIT).
 * Prints ONE JSON object on stdout; Benchmarks/peers/bench.py turns it into result lines.
 *
 *   peers_bench keywords    KEYWORDS MESSAGES COMPILE_RUNS SCAN_RUNS [lit|multi]
 *       Hyperscan block mode, one database of all keywords (literal API `lit`, the default:
 *       hs_compile_lit_multi; or `multi`: hs_compile_multi, each keyword an escaped literal,
 *       HS_FLAG_UTF8). Scan loop: one hs_scan per message, a callback counting every match
 *       (every keyword occurrence, overlapping).
 *   peers_bench regex-hs    PATTERNS MESSAGES RUNS
 *       hs_compile_multi, HS_FLAG_UTF8|HS_FLAG_UCP|HS_FLAG_SINGLEMATCH. If the set is refused,
 *       each pattern is retried alone without UCP, then with ALLOWEMPTY, else skipped, and the
 *       accepted ones (each with the flags it compiled with) are compiled together. Scan: one
 *       hs_scan per message; the callback counts (message, pattern) matches.
 *       `noucp` as 4th argument: HS_FLAG_UTF8|HS_FLAG_SINGLEMATCH for every pattern.
 *   peers_bench regex-pcre2 PATTERNS MESSAGES RUNS
 *       pcre2_compile each with PCRE2_UTF|PCRE2_UCP, pcre2_jit_compile(COMPLETE), then per
 *       message try every pattern with pcre2_jit_match (subjects are checked as UTF-8 once,
 *       at load).
 *
 * Only the compile call or the scan loop is timed; files are read into memory first.
 * Lines: split on '\n', a trailing '\r' dropped; empty keyword/pattern lines are skipped.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char **s;
    size_t *len;
    size_t n;
} lines_t;

static void die(const char *msg, const char *detail) {
    fprintf(stderr, "peers_bench: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static lines_t read_lines(const char *path, int skip_empty) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) die("cannot read", path);
    fclose(f);
    buf[size] = '\0';
    lines_t l = {0};
    size_t cap = 1024;
    l.s = malloc(cap * sizeof(char *));
    l.len = malloc(cap * sizeof(size_t));
    char *p = buf, *end = buf + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        *e = '\0';
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r') p[--n] = '\0';
        if (n || !skip_empty) {
            if (l.n == cap) {
                cap *= 2;
                l.s = realloc(l.s, cap * sizeof(char *));
                l.len = realloc(l.len, cap * sizeof(size_t));
            }
            l.s[l.n] = p;
            l.len[l.n] = n;
            l.n++;
        }
        p = e + 1;
    }
    return l;
}

static void print_runs(const char *key, const double *v, int n) {
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++) printf("%s%.9f", i ? "," : "", v[i]);
    printf("]");
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* ---------------------------------------------------------------- Hyperscan */

static int on_match_count(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
    (void)id; (void)from; (void)to; (void)flags;
    (*(unsigned long long *)ctx)++;
    return 0;
}

typedef struct {
    unsigned long long total;
    unsigned long long *per_pattern;
} regex_ctx_t;

static int on_match_regex(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
    (void)from; (void)to; (void)flags;
    regex_ctx_t *c = ctx;
    c->total++;
    c->per_pattern[id]++;
    return 0;
}

/* Escape a keyword as a Hyperscan literal in UTF-8 mode: ASCII non-alphanumerics become
 * \xHH, bytes >= 0x80 (parts of UTF-8 sequences) are kept as they are. */
static char *hs_escape(const char *s, size_t n) {
    char *out = malloc(n * 4 + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            *o++ = (char)c;
        else
            o += sprintf(o, "\\x%02x", c);
    }
    *o = '\0';
    return out;
}

static hs_database_t *hs_keywords_compile(const lines_t *kw, int use_multi) {
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    unsigned *ids = malloc(kw->n * sizeof(unsigned));
    unsigned *flags = malloc(kw->n * sizeof(unsigned));
    for (size_t i = 0; i < kw->n; i++) ids[i] = (unsigned)i;
    hs_error_t rc;
    if (use_multi) {
        char **esc = malloc(kw->n * sizeof(char *));
        for (size_t i = 0; i < kw->n; i++) {
            esc[i] = hs_escape(kw->s[i], kw->len[i]);
            flags[i] = HS_FLAG_UTF8;
        }
        rc = hs_compile_multi((const char *const *)esc, flags, ids, (unsigned)kw->n, HS_MODE_BLOCK,
                              NULL, &db, &err);
        for (size_t i = 0; i < kw->n; i++) free(esc[i]);
        free(esc);
    } else {
        /* The literal API accepts only CASELESS, SINGLEMATCH and SOM_LEFTMOST: no UTF8 flag.
         * Byte matching of valid UTF-8 needles in valid UTF-8 text gives the same matches. */
        for (size_t i = 0; i < kw->n; i++) flags[i] = 0;
        rc = hs_compile_lit_multi((const char *const *)kw->s, flags, ids, kw->len, (unsigned)kw->n,
                                  HS_MODE_BLOCK, NULL, &db, &err);
    }
    if (rc != HS_SUCCESS) die("hyperscan keyword compile failed", err ? err->message : NULL);
    free(ids);
    free(flags);
    return db;
}

static int cmd_keywords(int argc, char **argv) {
    if (argc < 6) die("usage: keywords KEYWORDS MESSAGES COMPILE_RUNS SCAN_RUNS [lit|multi]", NULL);
    lines_t kw = read_lines(argv[2], 1);
    lines_t msg = read_lines(argv[3], 0);
    int compile_runs = atoi(argv[4]), scan_runs = atoi(argv[5]);
    int use_multi = argc > 6 && strcmp(argv[6], "multi") == 0;
    double *ct = calloc((size_t)compile_runs + 1, sizeof(double));
    double *st = calloc((size_t)scan_runs + 1, sizeof(double));
    hs_database_t *db = NULL;
    for (int r = 0; r < compile_runs; r++) {
        if (db) hs_free_database(db);
        double t0 = now_s();
        db = hs_keywords_compile(&kw, use_multi);
        ct[r] = now_s() - t0;
    }
    if (!db) db = hs_keywords_compile(&kw, use_multi);
    size_t db_size = 0, scratch_size = 0;
    hs_database_size(db, &db_size);
    hs_scratch_t *scratch = NULL;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) die("hs_alloc_scratch failed", NULL);
    hs_scratch_size(scratch, &scratch_size);
    unsigned long long matches = 0;
    for (int r = 0; r < scan_runs; r++) {
        unsigned long long count = 0;
        double t0 = now_s();
        for (size_t i = 0; i < msg.n; i++) {
            if (hs_scan(db, msg.s[i], (unsigned)msg.len[i], 0, scratch, on_match_count, &count) != HS_SUCCESS)
                die("hs_scan failed", NULL);
        }
        st[r] = now_s() - t0;
        if (r > 0 && count != matches) die("match count changed between runs", NULL);
        matches = count;
    }
    printf("{\"api\":\"%s\",\"keywords\":%zu,\"messages\":%zu,", use_multi ? "hs_compile_multi" : "hs_compile_lit_multi",
           kw.n, msg.n);
    print_runs("compile_s", ct, compile_runs);
    putchar(',');
    print_runs("scan_s", st, scan_runs);
    printf(",\"matches\":%llu,\"db_bytes\":%zu,\"scratch_bytes\":%zu,\"hs_version\":", matches, db_size, scratch_size);
    json_str(hs_version());
    printf("}\n");
    hs_free_scratch(scratch);
    hs_free_database(db);
    return 0;
}

static int cmd_regex_hs(int argc, char **argv) {
    if (argc < 5) die("usage: regex-hs PATTERNS MESSAGES RUNS [ucp|noucp]", NULL);
    lines_t pat = read_lines(argv[2], 1);
    lines_t msg = read_lines(argv[3], 0);
    int runs = atoi(argv[4]);
    int ucp = !(argc > 5 && strcmp(argv[5], "noucp") == 0);
    const unsigned base = HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH | (ucp ? HS_FLAG_UCP : 0);
    const unsigned tries[] = {base, HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH, base | HS_FLAG_ALLOWEMPTY,
                              HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY};
    const char **exprs = malloc(pat.n * sizeof(char *));
    unsigned *flags = malloc(pat.n * sizeof(unsigned)), *ids = malloc(pat.n * sizeof(unsigned));
    unsigned n_ok = 0, n_no_ucp = 0, n_allowempty = 0, n_skipped = 0;
    char *fallbacks = calloc(pat.n, 1); /* 1: compiled without UCP, 2: with ALLOWEMPTY */
    /* First the whole set with the base flags (timed). If Hyperscan refuses it, find the flags
     * each pattern compiles with, one at a time (not timed), and compile the accepted ones. */
    for (size_t i = 0; i < pat.n; i++) {
        exprs[i] = pat.s[i];
        flags[i] = base;
        ids[i] = (unsigned)i;
    }
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    double t0 = now_s();
    hs_error_t crc = hs_compile_multi(exprs, flags, ids, (unsigned)pat.n, HS_MODE_BLOCK, NULL, &db, &err);
    double compile_s = now_s() - t0;
    printf("{\"patterns\":%zu,\"skipped_list\":[", pat.n);
    if (crc == HS_SUCCESS) {
        n_ok = (unsigned)pat.n;
    } else {
        hs_free_compile_error(err);
        for (size_t i = 0; i < pat.n; i++) {
            int ok = -1;
            static char errbuf[512];
            errbuf[0] = '\0';
            for (int t = 0; t < 4 && ok < 0; t++) {
                hs_database_t *one = NULL;
                hs_compile_error_t *e = NULL;
                if (hs_compile(pat.s[i], tries[t], HS_MODE_BLOCK, NULL, &one, &e) == HS_SUCCESS) {
                    ok = t;
                    hs_free_database(one);
                } else {
                    if (t == 0) snprintf(errbuf, sizeof errbuf, "%s", e->message);
                    hs_free_compile_error(e);
                }
            }
            if (ok < 0) {
                printf("%s{\"index\":%zu,\"error\":", n_skipped ? "," : "", i);
                json_str(errbuf);
                printf("}");
                n_skipped++;
                continue;
            }
            if (ucp && !(tries[ok] & HS_FLAG_UCP)) { n_no_ucp++; fallbacks[i] |= 1; }
            if (tries[ok] & HS_FLAG_ALLOWEMPTY) { n_allowempty++; fallbacks[i] |= 2; }
            exprs[n_ok] = pat.s[i];
            flags[n_ok] = tries[ok];
            ids[n_ok] = (unsigned)i;
            n_ok++;
        }
        t0 = now_s();
        if (hs_compile_multi(exprs, flags, ids, n_ok, HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS)
            die("hs_compile_multi failed", err ? err->message : NULL);
        compile_s = now_s() - t0;
    }
    printf("],\"without_ucp_list\":[");
    for (size_t i = 0, k = 0; i < pat.n; i++) if (fallbacks[i] & 1) printf("%s%zu", k++ ? "," : "", i);
    printf("],\"allowempty_list\":[");
    for (size_t i = 0, k = 0; i < pat.n; i++) if (fallbacks[i] & 2) printf("%s%zu", k++ ? "," : "", i);
    printf("],\"ucp\":%s,", ucp ? "true" : "false");
    size_t db_size = 0;
    hs_database_size(db, &db_size);
    hs_scratch_t *scratch = NULL;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) die("hs_alloc_scratch failed", NULL);
    double *st = calloc((size_t)runs + 1, sizeof(double));
    regex_ctx_t ctx = {0, calloc(pat.n, sizeof(unsigned long long))};
    unsigned long long matches = 0;
    for (int r = 0; r < runs; r++) {
        ctx.total = 0;
        memset(ctx.per_pattern, 0, pat.n * sizeof(unsigned long long));
        double s0 = now_s();
        for (size_t i = 0; i < msg.n; i++) {
            if (hs_scan(db, msg.s[i], (unsigned)msg.len[i], 0, scratch, on_match_regex, &ctx) != HS_SUCCESS)
                die("hs_scan failed", NULL);
        }
        st[r] = now_s() - s0;
        matches = ctx.total;
    }
    printf("\"accepted\":%u,\"accepted_without_ucp\":%u,\"accepted_with_allowempty\":%u,\"skipped\":%u,"
           "\"messages\":%zu,\"compile_s\":%.6f,\"db_bytes\":%zu,",
           n_ok, n_no_ucp, n_allowempty, n_skipped, msg.n, compile_s, db_size);
    print_runs("scan_s", st, runs);
    printf(",\"matches\":%llu,\"per_pattern\":[", matches);
    for (size_t i = 0; i < pat.n; i++) printf("%s%llu", i ? "," : "", ctx.per_pattern[i]);
    printf("],\"hs_version\":");
    json_str(hs_version());
    printf("}\n");
    return 0;
}

/* -------------------------------------------------------------------- PCRE2 */

static int cmd_regex_pcre2(int argc, char **argv) {
    if (argc < 5) die("usage: regex-pcre2 PATTERNS MESSAGES RUNS", NULL);
    lines_t pat = read_lines(argv[2], 1);
    lines_t msg = read_lines(argv[3], 0);
    int runs = atoi(argv[4]);
    /* Subjects are checked as UTF-8 here, once, so that the loop can use pcre2_jit_match,
     * which does no UTF check. */
    {
        pcre2_code *any = pcre2_compile((PCRE2_SPTR) "", 0, PCRE2_UTF, &(int){0}, &(PCRE2_SIZE){0}, NULL);
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        for (size_t i = 0; i < msg.n; i++) {
            int rc = pcre2_match(any, (PCRE2_SPTR)msg.s[i], msg.len[i], 0, 0, md, NULL);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) die("message is not valid UTF-8", msg.s[i]);
        }
        pcre2_match_data_free(md);
        pcre2_code_free(any);
    }
    pcre2_code **code = calloc(pat.n, sizeof(pcre2_code *));
    int *jit = calloc(pat.n, sizeof(int));
    unsigned n_ok = 0, n_nojit = 0, n_failed = 0;
    double t0 = now_s();
    printf("{\"patterns\":%zu,\"failed_list\":[", pat.n);
    for (size_t i = 0; i < pat.n; i++) {
        int errcode;
        PCRE2_SIZE erroff;
        code[i] = pcre2_compile((PCRE2_SPTR)pat.s[i], pat.len[i], PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
        if (!code[i]) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(errcode, buf, sizeof buf);
            printf("%s{\"index\":%zu,\"error\":", n_failed ? "," : "", i);
            json_str((const char *)buf);
            printf("}");
            n_failed++;
            continue;
        }
        n_ok++;
        jit[i] = pcre2_jit_compile(code[i], PCRE2_JIT_COMPLETE) == 0;
        if (!jit[i]) n_nojit++;
    }
    double compile_s = now_s() - t0;
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    pcre2_jit_stack *stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    pcre2_jit_stack_assign(mctx, NULL, stack);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    unsigned long long *per = calloc(pat.n, sizeof(unsigned long long));
    double *st = calloc((size_t)runs + 1, sizeof(double));
    unsigned long long matches = 0, errors = 0;
    for (int r = 0; r < runs; r++) {
        unsigned long long count = 0;
        memset(per, 0, pat.n * sizeof(unsigned long long));
        double s0 = now_s();
        for (size_t i = 0; i < msg.n; i++) {
            PCRE2_SPTR s = (PCRE2_SPTR)msg.s[i];
            size_t len = msg.len[i];
            for (size_t p = 0; p < pat.n; p++) {
                if (!code[p]) continue;
                int rc = jit[p] ? pcre2_jit_match(code[p], s, len, 0, 0, md, mctx)
                                : pcre2_match(code[p], s, len, 0, PCRE2_NO_UTF_CHECK, md, mctx);
                if (rc >= 0) { count++; per[p]++; }
                else if (rc != PCRE2_ERROR_NOMATCH) errors++;
            }
        }
        st[r] = now_s() - s0;
        matches = count;
    }
    printf("],\"accepted\":%u,\"failed\":%u,\"no_jit\":%u,\"messages\":%zu,\"compile_s\":%.6f,",
           n_ok, n_failed, n_nojit, msg.n, compile_s);
    print_runs("scan_s", st, runs);
    printf(",\"matches\":%llu,\"match_errors\":%llu,\"per_pattern\":[", matches, errors);
    for (size_t i = 0; i < pat.n; i++) printf("%s%llu", i ? "," : "", per[i]);
    PCRE2_UCHAR ver[64];
    pcre2_config(PCRE2_CONFIG_VERSION, ver);
    printf("],\"pcre2_version\":");
    json_str((const char *)ver);
    printf("}\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: peers_bench keywords|regex-hs|regex-pcre2 ...", NULL);
    if (strcmp(argv[1], "keywords") == 0) return cmd_keywords(argc, argv);
    if (strcmp(argv[1], "regex-hs") == 0) return cmd_regex_hs(argc, argv);
    if (strcmp(argv[1], "regex-pcre2") == 0) return cmd_regex_pcre2(argc, argv);
    die("unknown command", argv[1]);
    return 2;
}
