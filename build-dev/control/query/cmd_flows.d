build-dev/control/query/cmd_flows.o: control/query/cmd_flows.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/query/query.h control/record/alert.h dataplane/flow_record.h \
 control/record/keys.h control/record/netmatch.h \
 control/record/record_json.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/query/query.h:
control/record/alert.h:
dataplane/flow_record.h:
control/record/keys.h:
control/record/netmatch.h:
control/record/record_json.h:
