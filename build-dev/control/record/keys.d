build-dev/control/record/keys.o: control/record/keys.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/record/keys.h dataplane/flow_record.h control/record/alert.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/record/keys.h:
dataplane/flow_record.h:
control/record/alert.h:
