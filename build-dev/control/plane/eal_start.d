build-dev/control/plane/eal_start.o: control/plane/eal_start.c \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h \
 /usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h \
 control/plane/eal_start.h /usr/include/dpdk/rte_eal.h \
 /usr/include/dpdk/rte_compat.h /usr/include/dpdk/rte_per_lcore.h \
 /usr/include/dpdk/rte_uuid.h \
 /usr/include/dpdk/rte_pci_dev_feature_defs.h \
 /usr/include/dpdk/rte_errno.h /usr/include/dpdk/rte_log.h \
 /usr/include/dpdk/rte_common.h /usr/include/dpdk/rte_os.h
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_config.h:
/usr/include/dpdk/../x86_64-linux-gnu/dpdk/rte_build_config.h:
control/plane/eal_start.h:
/usr/include/dpdk/rte_eal.h:
/usr/include/dpdk/rte_compat.h:
/usr/include/dpdk/rte_per_lcore.h:
/usr/include/dpdk/rte_uuid.h:
/usr/include/dpdk/rte_pci_dev_feature_defs.h:
/usr/include/dpdk/rte_errno.h:
/usr/include/dpdk/rte_log.h:
/usr/include/dpdk/rte_common.h:
/usr/include/dpdk/rte_os.h:
