build-dev/control/policy/policy_eval.o: control/policy/policy_eval.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/policy/policy_model.h control/policy/policy.h \
 control/record/netmatch.h dataplane/flow_record.h control/record/alert.h \
 control/policy/daily_totals.h control/record/keys.h \
 control/record/record_json.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/policy/policy_model.h:
control/policy/policy.h:
control/record/netmatch.h:
dataplane/flow_record.h:
control/record/alert.h:
control/policy/daily_totals.h:
control/record/keys.h:
control/record/record_json.h:
