build-dev/control/plane/budget.o: control/plane/budget.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/plane/budget.h control/plane/config.h dataplane/classify.h \
 dataplane/flow_record.h dataplane/flow_table.h dataplane/parse.h \
 dataplane/flow_record.h dataplane/flow_table.h control/store/store.h \
 control/store/redis_engine.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/plane/budget.h:
control/plane/config.h:
dataplane/classify.h:
dataplane/flow_record.h:
dataplane/flow_table.h:
dataplane/parse.h:
dataplane/flow_record.h:
dataplane/flow_table.h:
control/store/store.h:
control/store/redis_engine.h:
