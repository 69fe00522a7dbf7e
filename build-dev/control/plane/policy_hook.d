build-dev/control/plane/policy_hook.o: control/plane/policy_hook.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/plane/policy_hook.h dataplane/flow_record.h control/store/sink.h \
 control/record/alert.h control/record/record_json.h \
 control/store/alert_writer.h control/store/redis_engine.h \
 control/policy/policy.h control/record/netmatch.h \
 control/policy/daily_totals.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/plane/policy_hook.h:
dataplane/flow_record.h:
control/store/sink.h:
control/record/alert.h:
control/record/record_json.h:
control/store/alert_writer.h:
control/store/redis_engine.h:
control/policy/policy.h:
control/record/netmatch.h:
control/policy/daily_totals.h:
