build-dev/control/store/sink.o: control/store/sink.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/store/sink.h control/record/alert.h dataplane/flow_record.h \
 control/record/record_json.h control/store/alert_writer.h \
 control/store/redis_engine.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/store/sink.h:
control/record/alert.h:
dataplane/flow_record.h:
control/record/record_json.h:
control/store/alert_writer.h:
control/store/redis_engine.h:
