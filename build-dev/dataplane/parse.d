build-dev/dataplane/parse.o: dataplane/parse.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 dataplane/parse.h dataplane/flow_record.h dataplane/counters.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
dataplane/parse.h:
dataplane/flow_record.h:
dataplane/counters.h:
