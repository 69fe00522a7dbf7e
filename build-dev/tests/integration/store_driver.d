build-dev/tests/integration/store_driver.o: \
 tests/integration/store_driver.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/record/record_json.h dataplane/flow_record.h \
 control/store/store.h control/store/redis_engine.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/record/record_json.h:
dataplane/flow_record.h:
control/store/store.h:
control/store/redis_engine.h:
