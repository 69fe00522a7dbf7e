build-dev/control/query/query.o: control/query/query.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/clock.h control/query/query.h control/record/alert.h \
 dataplane/flow_record.h control/query/timeparse.h \
 control/store/redis_conn.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/clock.h:
control/query/query.h:
control/record/alert.h:
dataplane/flow_record.h:
control/query/timeparse.h:
control/store/redis_conn.h:
