/* geoip.h - countries and autonomous systems of addresses, from MaxMind-format databases
 * (GeoLite2, DB-IP Lite, a licensed GeoIP2 copy) read with libmaxminddb.
 *
 * A country database is required, an ASN database optional. Each file is copied into
 * memory when opened (and hashed while copied), so a file rewritten in place, even cut
 * short, never changes or breaks lookups: a new file is taken by opening again (SIGHUP).
 *
 * The database is data from elsewhere: what it answers is checked before it is used. A
 * country is two capital letters A-Z or nothing (`country.iso_code`, else
 * `registered_country.iso_code`, as GeoLite2 leaves `country` out for some networks); an
 * ASN is an unsigned integer of at most 32 bits (`autonomous_system_number`), else 0.
 *
 * The SHA-256 of the databases in force (tw_geoip_sha256), in hex:
 *   country database alone: the SHA-256 of that file (`sha256sum FILE`);
 *   with an ASN database:   the SHA-256 of sha256sum's two lines for both files, by base
 *                           name, country first: the text
 *                           "<sha256 of country db>  <its base name>\n"
 *                           "<sha256 of asn db>  <its base name>\n"
 *                           (`cd DIR && sha256sum GeoLite2-Country.mmdb GeoLite2-ASN.mmdb |
 *                           sha256sum`, with both files in DIR).
 */
#ifndef TW_GEOIP_H
#define TW_GEOIP_H

#include <stddef.h>
#include <stdint.h>

#define TW_GEOIP_SHA256_LEN 65 /* 64 hex digits and a NUL */

struct tw_geoip;

/* What the databases said of some lookups since opened (tw_geoip_get_stats). */
struct tw_geoip_stats {
    uint64_t lookups;  /* addresses looked up */
    uint64_t errors;   /* lookups the database could not answer (a corrupt tree): unknown */
    uint64_t rejected; /* answers refused by the checks above: unknown */
};

/* Opens the country database country_path and, when asn_path is not NULL or "", the ASN
 * database. Returns the handle, or NULL with a one-line message in err naming the key and
 * the file ("geoip.country_db: /x.mmdb: The MaxMind DB file's metadata is invalid ...").
 * Refused: a missing or unreadable file, not a regular file, a file that others may write
 * (anybody could then choose the countries), one that is not a MaxMind DB. */
struct tw_geoip *tw_geoip_open(const char *country_path, const char *asn_path, char *err,
                               size_t errlen);

/* Looks up the address addr (16 bytes; IPv4 in the first 4 when v4 is set, as in
 * tw_flow_record). Writes the country code into country ("" when private, reserved or
 * unknown, or g is NULL) and the ASN into *asn (0 when unknown, without an ASN database, or
 * g is NULL). Never fails. */
void tw_geoip_lookup(struct tw_geoip *g, const uint8_t addr[16], int v4, char country[4],
                     uint32_t *asn);

/* The hex SHA-256 of the databases in force (above); "" when g is NULL. */
const char *tw_geoip_sha256(const struct tw_geoip *g);

/* 1 when an ASN database is open. */
int tw_geoip_has_asn(const struct tw_geoip *g);

void tw_geoip_get_stats(const struct tw_geoip *g, struct tw_geoip_stats *out);

/* 1 when the n bytes at s are a country code as records carry it: two capital letters
 * A-Z. (Inline: the record contract's JSON codec uses them without linking the database
 * reader.) */
static inline int tw_geoip_country_valid(const char *s, size_t n)
{
    return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* The same for a record's country field (src_country, dst_country: 3 bytes, NUL-terminated):
 * 1 when it holds two capital letters and its NUL. The record came from the wire or from
 * Redis, the database from a file: every reader of the field checks it with this. */
static inline int tw_geoip_country_field_valid(const char c[3])
{
    return tw_geoip_country_valid(c, 2) && c[2] == '\0';
}

/* Closes the databases. NULL is fine. */
void tw_geoip_close(struct tw_geoip *g);

#endif
