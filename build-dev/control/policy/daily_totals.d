build-dev/control/policy/daily_totals.o: control/policy/daily_totals.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/policy/daily_totals.h control/record/alert.h \
 dataplane/flow_record.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/policy/daily_totals.h:
control/record/alert.h:
dataplane/flow_record.h:
