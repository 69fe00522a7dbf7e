build-dev/tests/unit/test_config.o: tests/unit/test_config.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/plane/config.h dataplane/parse.h dataplane/flow_record.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/plane/config.h:
dataplane/parse.h:
dataplane/flow_record.h:
