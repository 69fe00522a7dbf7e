/* users.c - the console's accounts: the users file ("NAME:$argon2id$..." one a line, mode
 * 0600, checked like the project's other secret files), the sessions of those logged in
 * (random 256-bit tokens, ended after tc_cfg.idle_s unused), and failed logins slowed down:
 * each failure of a (user, address) doubles the wait before the next answer (0.5 s, 1 s, 2 s...
 * up to 16 s), until one succeeds. Passwords and tokens are never written anywhere but here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/console/console.h"
#include "control/query/query.h"
#include "control/store/redis_conn.h"

#define MAX_SESSIONS 1024
#define MAX_FAILS 1024
#define LINE_MAX_ 512

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct session {
    char token[65];
    char user[64];
    time_t last;
} sessions[MAX_SESSIONS];

static struct fail {
    char user[64], addr[64];
    unsigned count;
} fails[MAX_FAILS];

int tc_users_check(const char *path, char *err, size_t len)
{
    return tw_secret_file_read("users file", path, NULL, 0, err, len) < 0 ? -1 : 0;
}

int tc_users_verify(const char *path, const char *user, const char *pass)
{
    char line[LINE_MAX_], err[256];
    size_t ul = strlen(user);
    int found = 0;
    FILE *f;

    if (tc_users_check(path, err, sizeof(err)) < 0 || (f = fopen(path, "r")) == NULL)
        return -1;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, user, ul) == 0 && line[ul] == ':')
            found = crypto_pwhash_str_verify(line + ul + 1, pass, strlen(pass)) == 0 ? 1 : -2;
    }
    fclose(f);
    if (found == 0) { /* no such user: the same work as a wrong password, so names do not show */
        char h[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(h, pass, strlen(pass), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            found = -1; /* out of memory: a failure all the same */
    }
    return found == 1;
}

int tc_passwd(const char *path, const char *user)
{
    char pass[256], hash[crypto_pwhash_STRBYTES], line[LINE_MAX_], tmp[4096], err[256];
    size_t ul = strlen(user);
    FILE *in, *out;
    int fd, done = 0;

    if (!tq_valid_name(user)) {
        fprintf(stderr, CPROG ": bad user name \"%s\": letters, digits, '_', '.', '-'\n", user);
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    if (isatty(0))
        fprintf(stderr, "password for %s (one line, not echoed by this program: use a pipe "
                        "or a terminal with echo off): ", user);
    if (fgets(pass, sizeof(pass), stdin) == NULL) {
        fprintf(stderr, CPROG ": no password on stdin\n");
        return 2;
    }
    pass[strcspn(pass, "\r\n")] = '\0';
    if (strlen(pass) < 8) {
        fprintf(stderr, CPROG ": password too short (8 characters at least)\n");
        sodium_memzero(pass, sizeof(pass));
        return 2;
    }
    if (crypto_pwhash_str(hash, pass, strlen(pass), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        sodium_memzero(pass, sizeof(pass));
        fprintf(stderr, CPROG ": out of memory hashing the password\n");
        return 1;
    }
    sodium_memzero(pass, sizeof(pass));
    if (access(path, F_OK) == 0 && tc_users_check(path, err, sizeof(err)) < 0) {
        fprintf(stderr, CPROG ": %s\n", err);
        return 2;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        (out = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, CPROG ": %s: %s\n", tmp, strerror(errno));
        return 2;
    }
    if ((in = fopen(path, "r")) != NULL) {
        while (fgets(line, sizeof(line), in) != NULL) {
            if (strncmp(line, user, ul) == 0 && line[ul] == ':') {
                fprintf(out, "%s:%s\n", user, hash);
                done = 1;
            } else {
                fputs(line, out);
            }
        }
        fclose(in);
    }
    if (!done)
        fprintf(out, "%s:%s\n", user, hash);
    if (fflush(out) != 0 || fsync(fd) != 0 || fclose(out) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, CPROG ": %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return 2;
    }
    fprintf(stderr, CPROG ": %s %s in %s\n", done ? "changed" : "added", user, path);
    return 0;
}

unsigned tc_login_failed(const char *user, const char *addr, unsigned *count)
{
    struct fail *f = NULL, *free_ = NULL;
    unsigned c;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_FAILS && f == NULL; i++) {
        if (fails[i].count == 0 && free_ == NULL)
            free_ = &fails[i];
        else if (fails[i].count && strcmp(fails[i].user, user) == 0 &&
                 strcmp(fails[i].addr, addr) == 0)
            f = &fails[i];
    }
    if (f == NULL)
        f = free_ != NULL ? free_ : &fails[randombytes_uniform(MAX_FAILS)];
    if (f->count == 0 || strcmp(f->user, user) != 0 || strcmp(f->addr, addr) != 0) {
        snprintf(f->user, sizeof(f->user), "%s", user);
        snprintf(f->addr, sizeof(f->addr), "%s", addr);
        f->count = 0;
    }
    c = ++f->count;
    pthread_mutex_unlock(&lock);
    *count = c;
    return 500u << (c - 1 < 5 ? c - 1 : 5);
}

void tc_login_ok(const char *user, const char *addr)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_FAILS; i++)
        if (fails[i].count && strcmp(fails[i].user, user) == 0 && strcmp(fails[i].addr, addr) == 0)
            fails[i].count = 0;
    pthread_mutex_unlock(&lock);
}

int tc_session_new(const char *user, char token[65])
{
    unsigned char raw[32];
    time_t now = time(NULL);
    struct session *s = NULL;

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(token, 65, raw, sizeof(raw));
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_SESSIONS && s == NULL; i++)
        if (sessions[i].token[0] == '\0' || now - sessions[i].last > (time_t)tc_cfg.idle_s)
            s = &sessions[i];
    if (s != NULL) {
        memcpy(s->token, token, 65);
        snprintf(s->user, sizeof(s->user), "%s", user);
        s->last = now;
    }
    pthread_mutex_unlock(&lock);
    return s != NULL ? 0 : -1;
}

int tc_session_user(const char *token, char *user, size_t len)
{
    time_t now = time(NULL);
    int ok = 0;

    if (token == NULL || strlen(token) != 64)
        return 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_SESSIONS && !ok; i++) {
        if (sessions[i].token[0] == '\0' || sodium_memcmp(sessions[i].token, token, 64) != 0)
            continue;
        if (now - sessions[i].last > (time_t)tc_cfg.idle_s) {
            sessions[i].token[0] = '\0'; /* idle too long: ended */
            break;
        }
        sessions[i].last = now;
        snprintf(user, len, "%s", sessions[i].user);
        ok = 1;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

void tc_session_end(const char *token)
{
    if (token == NULL || strlen(token) != 64)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].token[0] && sodium_memcmp(sessions[i].token, token, 64) == 0)
            sessions[i].token[0] = '\0';
    pthread_mutex_unlock(&lock);
}
