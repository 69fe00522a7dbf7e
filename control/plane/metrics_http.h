/* metrics_http.h - the metrics endpoint: GET (or HEAD) /metrics answers the latest snapshot
 * on the board as Prometheus text (metrics_text.h); any other path is 404, any other method
 * 405. libmicrohttpd serves it from its own thread (MHD_USE_INTERNAL_POLLING_THREAD), which
 * reads the board only: the control loop never waits for a client, and no dataplane memory
 * is read from that thread.
 */
#ifndef TW_METRICS_HTTP_H
#define TW_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "control/plane/metrics_board.h"

struct tw_metrics_http;

/* Parses "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"; PORT 0 lets the
 * kernel choose) into the first address it names. Returns 0, or -1 with a one-line reason. */
int tw_metrics_parse_listen(const char *text, struct sockaddr_storage *sa, socklen_t *salen,
                            char *err, size_t errlen);

/* Listens on where and starts serving b (which must outlive the server). Returns the
 * server, or NULL with "metrics WHERE: reason" in err (bad address, port in use, ...). */
struct tw_metrics_http *tw_metrics_http_start(const char *where, struct tw_metrics_board *b,
                                              char *err, size_t errlen);

/* The URL it answers on, with the port actually bound ("http://127.0.0.1:9464/metrics"). */
const char *tw_metrics_http_url(const struct tw_metrics_http *h);

/* Stops the thread and closes the socket. NULL is fine. */
void tw_metrics_http_stop(struct tw_metrics_http *h);

#endif
