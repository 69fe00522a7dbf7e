build-dev/dataplane/classify.o: dataplane/classify.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/classify.h dataplane/flow_record.h dataplane/flow_table.h \
 dataplane/parse.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/classify.h:
dataplane/flow_record.h:
dataplane/flow_table.h:
dataplane/parse.h:
