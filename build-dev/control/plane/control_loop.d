build-dev/control/plane/control_loop.o: control/plane/control_loop.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/clock.h control/plane/control_loop.h dataplane/flow_record.h \
 dataplane/pipeline.h dataplane/flow_record.h dataplane/source.h \
 dataplane/worker.h dataplane/classify.h dataplane/flow_table.h \
 dataplane/parse.h dataplane/counters.h control/store/sink.h \
 control/record/alert.h control/record/record_json.h \
 control/store/alert_writer.h control/store/redis_engine.h \
 control/plane/budget.h control/plane/config.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/clock.h:
control/plane/control_loop.h:
dataplane/flow_record.h:
dataplane/pipeline.h:
dataplane/flow_record.h:
dataplane/source.h:
dataplane/worker.h:
dataplane/classify.h:
dataplane/flow_table.h:
dataplane/parse.h:
dataplane/counters.h:
control/store/sink.h:
control/record/alert.h:
control/record/record_json.h:
control/store/alert_writer.h:
control/store/redis_engine.h:
control/plane/budget.h:
control/plane/config.h:
