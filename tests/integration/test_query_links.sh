#!/usr/bin/env bash
# test_query_links.sh - tapwatch-query only reads Redis: it links nothing that writes to Redis
# or to disk, so a regulator's read-only Redis user and a read-only host are enough for it.
#
#   1. it defines no global symbol of the writers and outputs: the objects of libstore.a other
#      than the ones it may link (redis_conn.o, the URL, credentials and target;
#      redis_transport.o, TCP/unix/TLS; redis_client.o, blocking request-reply; redis_slot.o, the cluster's key-slot
#      rule and RESP walk), and those
#      of libplane.a and libpolicy.a. The forbidden set is read from the archives, so a writer
#      file added there later is caught without editing this test.
#   2. it calls no hiredis function of the write side: hiredis's non-blocking contexts
#      (redisAsync*, *NonBlock, redisBuffer*), the argv command forms (*Argv), and any other
#      hiredis function the writers call that a blocking request-reply reader does not need
#      (the reply reader and printf-style formatting over our transport are what it needs).
#   3. its own objects (control/query/*.o) hold no Redis write command (HSET, XADD, DEL...),
#      but one: audit_trail.o appends the audit entry of each question with EVAL (its script's
#      XADD and SET reach the audit trail only: redis_acl.c) and holds no other.
#
#   bash tests/integration/test_query_links.sh BUILD_DIR [PROGRAM]
# PROGRAM defaults to BUILD_DIR/tapwatch-query; name an older build's program to see the
# check fail on it (the forbidden symbols still come from BUILD_DIR's archives).
set -u
export LC_ALL=C # sort, comm and join agree on the order
build=${1:-${TW_BUILD:-build}}
prog=${2:-$build/tapwatch-query}
# objects of libstore.a tapwatch-query may link (the Makefile's QUERY_REDIS_SRCS)
may_link="redis_conn.o redis_transport.o redis_client.o redis_slot.o"
# what a blocking request-reply reader needs from hiredis (connections are redis_transport.o's)
reader_calls="redisvFormatCommand redisReaderCreate redisReaderFeed redisReaderGetReply"
reader_calls+=" redisReaderFree freeReplyObject"

for tool in nm strings; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
[ -x "$prog" ] || { echo "skip: $prog not built"; exit 77; }
for a in libstore.a libplane.a libpolicy.a; do
    [ -f "$build/$a" ] || { echo "skip: $build/$a not built"; exit 77; }
done
tmp=$(mktemp -d /tmp/tw-query-links.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# archive members other than may_link: "object symbol" lines of their defined globals
# (nm -A prints "archive:member:address type name")
nm -A -g --defined-only "$build/libstore.a" "$build/libplane.a" "$build/libpolicy.a" 2>/dev/null |
    awk -v ok=" $may_link " 'NF == 3 {
        split($1, p, ":"); if (index(ok, " " p[2] " ") == 0) print p[1] ":" p[2], $3 }' |
    sort -k2 >"$tmp/forbidden"
[ -s "$tmp/forbidden" ] || fail "no writer symbols read from $build/libstore.a, libplane.a, libpolicy.a"

# 1. writer symbols the program defines
nm -g --defined-only "$prog" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/defined"
join -1 2 -2 1 "$tmp/forbidden" "$tmp/defined" >"$tmp/linked"
if [ -s "$tmp/linked" ]; then
    fail "$prog links writer code (symbol, object):"
    sed 's/^/      /' "$tmp/linked"
fi

# 2. write-side hiredis calls: the engine's calls by pattern, and what the writers call
#    beyond a reader's needs
{ nm -u "$prog" 2>/dev/null; nm -D -u "$prog" 2>/dev/null; } | awk '{ print $NF }' |
    sed 's/@.*//' | sort -u >"$tmp/calls"
for o in "$build"/control/store/*.o; do
    case " $may_link " in *" $(basename "$o") "*) continue ;; esac
    nm -u "$o"
done | awk '{ print $NF }' | grep -E '^(redis|freeReplyObject)' | sort -u >"$tmp/writer_calls"
printf '%s\n' $reader_calls | sort -u >"$tmp/reader_calls"
comm -23 "$tmp/writer_calls" "$tmp/reader_calls" >"$tmp/write_side"
grep -E '^redisAsync|NonBlock|^redisBuffer(Read|Write)$|Argv$' "$tmp/calls" \
    >>"$tmp/write_side"
sort -u "$tmp/write_side" | comm -12 - "$tmp/calls" >"$tmp/bad_calls"
if [ -s "$tmp/bad_calls" ]; then
    fail "$prog calls write-side hiredis functions: $(tr '\n' ' ' <"$tmp/bad_calls")"
fi

# 3. Redis write commands in the tool's own objects (its command format strings)
write_cmds='SET|SETNX|SETEX|SETRANGE|MSET|APPEND|INCR|INCRBY|DECR|HSET|HSETNX|HMSET|HINCRBY'
write_cmds+='|HDEL|XADD|XTRIM|XDEL|ZADD|ZINCRBY|ZREM|ZREMRANGEBYSCORE|RPUSH|LPUSH|SADD|SREM'
write_cmds+='|DEL|UNLINK|RENAME|COPY|RESTORE|EXPIRE|PEXPIRE|EXPIREAT|PERSIST|EVAL|EVALSHA'
write_cmds+='|SCRIPT|FUNCTION|FCALL|MULTI|EXEC|PUBLISH|FLUSHDB|FLUSHALL'
objs=$(ls "$build"/control/query/*.o 2>/dev/null)
[ -n "$objs" ] || fail "no objects in $build/control/query"
for o in $objs; do
    cmds=$(strings -a "$o" | grep -E "^($write_cmds)( |$)" | tr '\n' ';')
    [ "$(basename "$o")" = audit_trail.o ] && [ "$cmds" = "EVAL;" ] && continue
    [ -z "$cmds" ] || fail "$o sends Redis write commands: $cmds"
done
[ -f "$build/control/query/audit_trail.o" ] || fail "no $build/control/query/audit_trail.o"
strings -a "$build/control/query/audit_trail.o" | grep -qx EVAL ||
    fail "audit_trail.o does not append with EVAL: is the audit trail written some other way?"

if [ $failures -gt 0 ]; then
    echo "test_query_links: $failures failure(s)"
    exit 1
fi
echo "test_query_links: pass ($(wc -l <"$tmp/forbidden") writer symbols, none linked)"
