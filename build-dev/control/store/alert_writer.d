build-dev/control/store/alert_writer.o: control/store/alert_writer.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/clock.h control/store/alert_writer.h control/record/alert.h \
 dataplane/flow_record.h control/store/redis_engine.h \
 control/record/keys.h control/store/spill.h control/store/redis_conn.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/clock.h:
control/store/alert_writer.h:
control/record/alert.h:
dataplane/flow_record.h:
control/store/redis_engine.h:
control/record/keys.h:
control/store/spill.h:
control/store/redis_conn.h:
