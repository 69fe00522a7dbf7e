build-dev/dataplane/flow_table.o: dataplane/flow_table.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/flow_table.h dataplane/parse.h dataplane/flow_record.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/flow_table.h:
dataplane/parse.h:
dataplane/flow_record.h:
