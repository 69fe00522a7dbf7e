/* geoip.c - countries and ASNs of addresses from MaxMind-format databases (see geoip.h).
 *
 * Opening a database:
 *
 *   FILE ──read, hashed (SHA-256)──> memfd (a private copy) ──MMDB_open(/proc/self/fd/N)──>
 *   the lookups' mmap of the copy; the memfd itself is closed again
 *
 * libmaxminddb (1.7) only opens a path and maps it: mapping the copy rather than the file
 * means a database rewritten in place cannot SIGBUS or confuse a running sensor, and the
 * bytes hashed are the bytes looked up.
 */
#include "control/record/geoip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <maxminddb.h>
#include <openssl/evp.h>

#define GEOIP_FILE_MAX (1ull << 30) /* GeoIP2-City is some 70 MiB: 1 GiB is not a database */

struct geoip_db {
    MMDB_s mmdb;
    int open;
    char sha256[TW_GEOIP_SHA256_LEN];
};

struct tw_geoip {
    struct geoip_db country, asn;
    char sha256[TW_GEOIP_SHA256_LEN];
    struct tw_geoip_stats st;
};

static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* Copies the open file fd (size bytes) into a new memfd, hashing it on the way. Returns the
 * memfd, or -1 with errno set (EIO: the file's size changed while it was read). */
static int copy_hashed(int fd, uint64_t size, char sha256[TW_GEOIP_SHA256_LEN])
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    uint64_t total = 0;
    int mfd = memfd_create("tapwatch-geoip", MFD_CLOEXEC), saved;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (mfd < 0 || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        saved = mfd < 0 ? errno : ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            goto fail;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > size || EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            saved = EIO;
            goto fail;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(mfd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                saved = errno;
                goto fail;
            }
            off += w;
        }
    }
    if (total != size || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        saved = EIO;
        goto fail;
    }
    EVP_MD_CTX_free(ctx);
    hex(md, mdlen, sha256);
    return mfd;
fail:
    EVP_MD_CTX_free(ctx);
    if (mfd >= 0)
        close(mfd);
    errno = saved;
    return -1;
}

/* Opens one database into db. Returns 0, or -1 with "KEY: PATH: why" in err. */
static int db_open(struct geoip_db *db, const char *key, const char *path, char *err,
                   size_t errlen)
{
    struct stat st;
    char proc[64];
    int fd, mfd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > GEOIP_FILE_MAX ||
        (st.st_mode & S_IWOTH)) {
        snprintf(err, errlen, "%s: %s: %s", key, path,
                 !S_ISREG(st.st_mode) ? "not a regular file"
                 : (st.st_mode & S_IWOTH)
                     ? "writable by others (anybody could choose the countries): chmod o-w"
                     : "larger than 1 GiB: not a GeoIP database");
        close(fd);
        return -1;
    }
    mfd = copy_hashed(fd, (uint64_t)st.st_size, db->sha256);
    close(fd);
    if (mfd < 0) {
        snprintf(err, errlen, "%s: %s: %s", key, path,
                 errno == EIO ? "changed while it was read; try again" : strerror(errno));
        return -1;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
    rc = MMDB_open(proc, MMDB_MODE_MMAP, &db->mmdb);
    close(mfd); /* the mapping keeps the copy */
    if (rc != MMDB_SUCCESS) {
        snprintf(err, errlen, "%s: %s: %s", key, path,
                 rc == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(rc));
        return -1;
    }
    db->open = 1;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* The combined hash of geoip.h: sha256sum's two lines, hashed. */
static int combined_sha256(struct tw_geoip *g, const char *country_path, const char *asn_path)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char *text = NULL;
    int n = asprintf(&text, "%s  %s\n%s  %s\n", g->country.sha256, base_name(country_path),
                     g->asn.sha256, base_name(asn_path));

    if (n < 0)
        return -1;
    if (EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1) {
        free(text);
        return -1;
    }
    free(text);
    hex(md, mdlen, g->sha256);
    return 0;
}

struct tw_geoip *tw_geoip_open(const char *country_path, const char *asn_path, char *err,
                               size_t errlen)
{
    struct tw_geoip *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        snprintf(err, errlen, "geoip: out of memory");
        return NULL;
    }
    if (country_path == NULL || country_path[0] == '\0') {
        snprintf(err, errlen, "geoip.country_db: expected the path of a country database");
        goto fail;
    }
    if (db_open(&g->country, "geoip.country_db", country_path, err, errlen) != 0)
        goto fail;
    if (asn_path != NULL && asn_path[0] != '\0') {
        if (db_open(&g->asn, "geoip.asn_db", asn_path, err, errlen) != 0)
            goto fail;
        if (combined_sha256(g, country_path, asn_path) != 0) {
            snprintf(err, errlen, "geoip: out of memory");
            goto fail;
        }
    } else {
        memcpy(g->sha256, g->country.sha256, sizeof(g->sha256));
    }
    return g;
fail:
    tw_geoip_close(g);
    return NULL;
}


/* Addresses in no country, whatever a database says of them: private (RFC 1918, RFC 4193),
 * shared (RFC 6598), loopback, link-local, unspecified, multicast and "this network". */
static int is_local(const uint8_t *a, int v4)
{
    if (v4)
        return a[0] == 10 || a[0] == 127 || a[0] == 0 || a[0] >= 224 ||
               (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
               (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64);
    static const uint8_t zero[15], mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return 1; /* :: and ::1 */
    if (memcmp(a, mapped, 12) == 0) /* ::ffff:a.b.c.d is a.b.c.d (the databases alias it) */
        return is_local(a + 12, 1);
    return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

/* Looks addr up in db. Returns 1 with the entry in *res, 0 when it is not in db (or db
 * could not answer: counted). */
static int find(struct tw_geoip *g, struct geoip_db *db, const uint8_t *addr, int v4,
                MMDB_lookup_result_s *res)
{
    struct sockaddr_in sa4 = {.sin_family = AF_INET};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    int mmerr = MMDB_SUCCESS;

    if (!db->open)
        return 0;
    if (v4)
        memcpy(&sa4.sin_addr, addr, 4);
    else
        memcpy(&sa6.sin6_addr, addr, 16);
    *res = MMDB_lookup_sockaddr(&db->mmdb, v4 ? (const struct sockaddr *)&sa4
                                              : (const struct sockaddr *)&sa6, &mmerr);
    if (mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
        return 0; /* an IPv4-only database knows no IPv6 address */
    if (mmerr != MMDB_SUCCESS) {
        g->st.errors++;
        return 0;
    }
    return res->found_entry;
}

/* The country code at path in entry into country. Returns 1 when one was there and valid. */
static int country_at(struct tw_geoip *g, MMDB_entry_s *entry, const char *map, char country[4])
{
    MMDB_entry_data_s d;
    int rc = MMDB_get_value(entry, &d, map, "iso_code", NULL);

    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (rc == MMDB_SUCCESS && !d.has_data))
        return 0; /* not in this record */
    if (rc != MMDB_SUCCESS || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
        !tw_geoip_country_valid(d.utf8_string, d.data_size)) {
        g->st.rejected++;
        return 0;
    }
    memcpy(country, d.utf8_string, 2);
    country[2] = '\0';
    return 1;
}

static uint32_t asn_of(struct tw_geoip *g, MMDB_entry_s *entry)
{
    MMDB_entry_data_s d;
    int rc = MMDB_get_value(entry, &d, "autonomous_system_number", NULL);

    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (rc == MMDB_SUCCESS && !d.has_data))
        return 0;
    if (rc == MMDB_SUCCESS) {
        switch (d.type) {
        case MMDB_DATA_TYPE_UINT16: return d.uint16;
        case MMDB_DATA_TYPE_UINT32: return d.uint32;
        case MMDB_DATA_TYPE_UINT64:
            if (d.uint64 <= UINT32_MAX)
                return (uint32_t)d.uint64;
            break;
        case MMDB_DATA_TYPE_INT32:
            if (d.int32 >= 0)
                return (uint32_t)d.int32;
            break;
        default:
            break;
        }
    }
    g->st.rejected++;
    return 0;
}

void tw_geoip_lookup(struct tw_geoip *g, const uint8_t addr[16], int v4, char country[4],
                     uint32_t *asn)
{
    MMDB_lookup_result_s res;

    memset(country, 0, 4);
    *asn = 0;
    if (g == NULL || is_local(addr, v4))
        return;
    g->st.lookups++;
    if (find(g, &g->country, addr, v4, &res) &&
        !country_at(g, &res.entry, "country", country))
        country_at(g, &res.entry, "registered_country", country);
    if (find(g, &g->asn, addr, v4, &res))
        *asn = asn_of(g, &res.entry);
}

const char *tw_geoip_sha256(const struct tw_geoip *g)
{
    return g != NULL ? g->sha256 : "";
}

int tw_geoip_has_asn(const struct tw_geoip *g)
{
    return g != NULL && g->asn.open;
}

void tw_geoip_get_stats(const struct tw_geoip *g, struct tw_geoip_stats *out)
{
    if (g == NULL)
        memset(out, 0, sizeof(*out));
    else
        *out = g->st;
}

void tw_geoip_close(struct tw_geoip *g)
{
    if (g == NULL)
        return;
    if (g->asn.open)
        MMDB_close(&g->asn.mmdb);
    if (g->country.open)
        MMDB_close(&g->country.mmdb);
    free(g);
}
