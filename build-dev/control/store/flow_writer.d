build-dev/control/store/flow_writer.o: control/store/flow_writer.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/clock.h control/record/record_json.h dataplane/flow_record.h \
 control/store/redis_conn.h control/store/redis_engine.h \
 control/store/spill.h control/store/store.h control/record/keys.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/clock.h:
control/record/record_json.h:
dataplane/flow_record.h:
control/store/redis_conn.h:
control/store/redis_engine.h:
control/store/spill.h:
control/store/store.h:
control/record/keys.h:
