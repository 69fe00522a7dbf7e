/* common.c - what tapwatch-query's subcommands share besides output: argument checks, Redis
 * reply failures, growing arrays. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "control/query/query.h"

int tq_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see " PROG " --help)\n", stderr);
    return EXIT_USAGE;
}

int tq_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int tq_valid_name(const char *s)
{
    if (*s == '\0' || strlen(s) >= 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

static int refused;

int tq_refused(void)
{
    return refused;
}

int tq_reply_failed(struct tw_rclient *c, redisReply *r, const char *what)
{
    const char *e = tw_rclient_error(c);

    if (r == NULL)
        fprintf(stderr, PROG ": redis %s: %s: %s\n", tw_rclient_url(c), what, e[0] ? e : "no reply");
    else if (r->type == REDIS_REPLY_ERROR && (refused = tw_redis_config_error(r->str)))
        fprintf(stderr, PROG ": redis %s refused %s: %s\n", tw_rclient_url(c), what, r->str);
    else if (r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, PROG ": redis: %s: %s\n", what, r->str);
    else
        fprintf(stderr, PROG ": redis: %s: unexpected reply type %d\n", what, r->type);
    if (r != NULL)
        freeReplyObject(r);
    return -1;
}

void *tq_grow(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    size_t nc;
    void *moved;

    if (n < *cap)
        return items;
    nc = *cap ? *cap * 2 : first;
    moved = realloc(items, nc * size);
    if (moved == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return NULL;
    }
    *cap = nc;
    return moved;
}
