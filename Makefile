# tapwatch - build, test, demo, bench.
# `make demo` and `make test` install what is missing first (scripts/install-deps.sh).

BUILD ?= build
CC ?= cc
PKGS := libdpdk libndpi hiredis yaml-0.1 json-c libpcap zlib libmicrohttpd
# IPFIX export (control/store/ipfix_enc.c) encodes with libfixbuf (brings glib); tapwatch only
IPFIX_PKGS := libfixbuf
# OpenSSL's libssl: the Redis TLS transport (control/store/redis_transport.c)
PKGS += openssl
# libmaxminddb: countries and ASNs of flow ends (control/record/geoip.c, geoip.country_db)
PKGS += libmaxminddb
# libzstd: the compact store format's blocks (control/record/compact.c, redis.format 2)
PKGS += libzstd
# libsodium: the evidence's Ed25519 signatures (control/evidence/sign_key.c)
PKGS += libsodium
SAN ?=

WARN := -Wall -Wextra -Werror -Wno-address-of-packed-member
# CFLAGS (optimisation, debug) may be set on the command line; what the project needs is
# added with override, so `make CFLAGS=-O1 SAN=1` still builds with warnings and sanitizers.
CFLAGS ?= -O3 -g  # -O3: a few % faster than -O2 on the benchmark capture (medians of 9)
# -I.: every include names its folder from the top ("control/record/alert.h")
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP -fno-strict-aliasing -I.
ifneq ($(SAN),)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

# pkg-config is only asked when building (not for `make deps`).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(IPFIX_PKGS) 2>/dev/null)

# DPDK is linked statically by default, with the drivers an appliance needs built in:
# Debian's shared DPDK dlopens its ~130 driver plugins at every start (35 ms of a 0.17 s
# start-up, measured). DPDK_LINK=shared links the shared DPDK instead, which brings every
# driver Debian ships (mlx4/mlx5 and the other NICs not listed here).
DPDK_LINK ?= static
DPDK_DRIVERS := bus_pci bus_vdev mempool_ring net_af_packet net_af_xdp net_pcap net_null net_ring \
	net_e1000 net_igc net_ixgbe net_i40e net_iavf net_ice common_iavf net_bnxt net_ena \
	net_virtio net_vmxnet3
DPDK_STATIC := hash security cryptodev timer rcu pci ethdev net meter mbuf mempool ring eal \
	kvargs telemetry
ifeq ($(DPDK_LINK),static)
DPDK_LIBS = -Wl,--whole-archive $(DPDK_DRIVERS:%=-l:librte_%.a) -Wl,--no-whole-archive \
	$(DPDK_STATIC:%=-l:librte_%.a) -lnuma -ldl -latomic -lbsd -lxdp -lbpf -lelf
else ifeq ($(DPDK_LINK),shared)
DPDK_LIBS = $(shell pkg-config --libs libdpdk 2>/dev/null)
else
$(error DPDK_LINK must be static or shared, not '$(DPDK_LINK)')
endif
# nDPI (Debian's 4.2) from its static archive too: its internal calls then skip the PLT and
# its code is not position-independent, 3% of a run's time (bench-big, medians of 7).
NDPI_LIBS = -l:libndpi.a $(filter-out -lndpi,$(shell pkg-config --static --libs libndpi 2>/dev/null))
NODPDK_LIBS = $(NDPI_LIBS) $(shell pkg-config --libs $(filter-out libdpdk libndpi,$(PKGS)) 2>/dev/null) \
	-lpcap -lm -lpthread
PKG_LIBS = $(DPDK_LIBS) $(NODPDK_LIBS)
PKG_LIBS += $(shell pkg-config --libs $(IPFIX_PKGS) 2>/dev/null)

# The tree by role (README "How it works"): each folder is one archive.
#   record  the record contract both programs share (flow record and alert JSON, key names,
#           address matching)
#   store   Redis writers, spill files, outputs;   policy  the monitoring rules
#   plane   the appliance's control plane (tapwatch.c is its main)
#   query   the regulator's query tool (query.c is its main)
#   evidence  keys, signatures and the signed log's format, for writers and verifiers alike
dp_SRCS := $(wildcard dataplane/*.c)
record_SRCS := $(wildcard control/record/*.c)
store_SRCS := $(wildcard control/store/*.c)
policy_SRCS := $(wildcard control/policy/*.c)
plane_SRCS := $(filter-out control/plane/tapwatch.c,$(wildcard control/plane/*.c))
query_SRCS := $(filter-out control/query/main.c,$(wildcard control/query/*.c))
# the regulator's console (control/console/): its own main, linked like tapwatch-query
console_SRCS := $(wildcard control/console/*.c)
evidence_SRCS := $(wildcard control/evidence/*.c)
# in link order: a folder's archive may use those after it
ARCHIVES := plane policy store query evidence record dp
# what tapwatch-query may link besides the record contract: the Redis read side only
QUERY_REDIS_SRCS := control/store/redis_conn.c
# the transport (TCP, unix, TLS) and the blocking command client over it
QUERY_REDIS_SRCS += control/store/redis_transport.c control/store/redis_client.c
# the cluster's key-slot rule and RESP walk (the client follows MOVED and ASK)
QUERY_REDIS_SRCS += control/store/redis_slot.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

objs = $(1:%.c=$(BUILD)/%.o)
CONTROL_LIBS := $(ARCHIVES:%=$(BUILD)/lib%.a)
CONTROL_LINK := -L$(BUILD) -Wl,--start-group $(ARCHIVES:%=-l%) -Wl,--end-group
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# programs the integration tests drive, besides tapwatch and tapwatch-query
TEST_HELPERS := $(BUILD)/tests/store_driver

.PHONY: all deps demo test test-sanitized unit integration parity check clean bench fuzz
.PHONY: bench-live bench-wait bench-console
all: $(BUILD)/tapwatch $(BUILD)/tapwatch-query $(BUILD)/tapwatch-console

deps:
	@bash scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# one archive per folder: $(BUILD)/libNAME.a from NAME_SRCS
define ARCHIVE_RULE
$(BUILD)/lib$(1).a: $$(call objs,$$($(1)_SRCS))
	@rm -f $$@; ar rcs $$@ $$^
endef
$(foreach a,$(ARCHIVES),$(eval $(call ARCHIVE_RULE,$(a))))

# The DPDK link mode is part of what a binary is: its stamp is new whenever the mode changes,
# so `make DPDK_LINK=shared` after a static build relinks (no `make clean` needed).
DPDK_LINK_STAMP := $(BUILD)/.dpdk-link-$(DPDK_LINK)
$(DPDK_LINK_STAMP):
	@mkdir -p $(BUILD); rm -f $(BUILD)/.dpdk-link-*; touch $@

$(BUILD)/tapwatch: $(BUILD)/control/plane/tapwatch.o $(CONTROL_LIBS) $(DPDK_LINK_STAMP)
	$(CC) $(LDFLAGS) -o $@ $< $(CONTROL_LINK) $(PKG_LIBS)
# The query tool reads Redis only: the record contract, the URL and connection code, and the
# dataplane's record names; nothing that writes (tests/integration/test_query_links.sh).
$(BUILD)/tapwatch-query: $(BUILD)/control/query/main.o $(BUILD)/libquery.a $(BUILD)/libevidence.a \
		$(BUILD)/librecord.a $(call objs,$(QUERY_REDIS_SRCS)) $(BUILD)/dataplane/flow_record.o
	$(CC) $(LDFLAGS) -o $@ $< $(call objs,$(QUERY_REDIS_SRCS)) $(BUILD)/dataplane/flow_record.o \
		-L$(BUILD) -lquery -levidence -lrecord $(NODPDK_LIBS)
# The console (README "Console") answers with the query tool's code (tq_query_main, one child
# process per question): the same read side, plus libmicrohttpd (GnuTLS inside) for HTTPS.
$(BUILD)/tapwatch-console: $(call objs,$(console_SRCS)) $(BUILD)/libquery.a $(BUILD)/libevidence.a \
		$(BUILD)/librecord.a $(call objs,$(QUERY_REDIS_SRCS)) $(BUILD)/dataplane/flow_record.o
	$(CC) $(LDFLAGS) -o $@ $(call objs,$(console_SRCS)) $(call objs,$(QUERY_REDIS_SRCS)) \
		$(BUILD)/dataplane/flow_record.o -L$(BUILD) -lquery -levidence -lrecord $(NODPDK_LIBS)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CONTROL_LIBS) $(DPDK_LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CONTROL_LINK) $(PKG_LIBS) -lcmocka
# The console's unit tests (tests/unit/test_console_*.c) take its parts from an archive of
# control/console/ without its main, so a test links only the files it uses.
$(BUILD)/libconsole.a: $(call objs,$(filter-out control/console/console.c,$(console_SRCS)))
	@rm -f $@; ar rcs $@ $^
$(BUILD)/tests/test_console_%: $(BUILD)/tests/unit/test_console_%.o $(BUILD)/libconsole.a \
		$(CONTROL_LIBS) $(DPDK_LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -lconsole $(CONTROL_LINK) $(PKG_LIBS) -lcmocka

# The whole suite: unit tests, integration tests (real redis-server), parity with ndpiReader.
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(TEST_HELPERS)
	@bash tests/run.sh $(BUILD)

# The suite again, built with ASan + UBSan (LeakSanitizer included) into build-san/.
test-sanitized: deps
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 CFLAGS="-O1 -g" all $(UNIT_BINS:$(BUILD)/%=build-san/%) $(TEST_HELPERS:$(BUILD)/%=build-san/%)
	@TW_SANITIZED=1 bash tests/run.sh build-san

# What CI runs (.ci/run): the suite, then the suite under the sanitizers.
check: test test-sanitized

demo: deps all
	@bash scripts/demo.sh $(BUILD)

# tapwatch against ndpiReader on the same large capture (see scripts/bench.sh).
bench: deps all $(BUILD)/tests/store_driver
	@bash scripts/bench.sh $(BUILD)

# what redis.wait_replicas costs: the record writer against a local master and replica, WAIT 0
# vs 1 (scripts/bench_wait.sh; apart from `make bench`, which it would make longer)
bench-wait: all $(BUILD)/tests/store_driver
	@bash scripts/bench_wait.sh $(BUILD)

# the console's latency: a page of 100 flows over a store of 1 M records (scripts/bench_console.sh)
bench-console: all $(BUILD)/tests/store_driver
	@bash scripts/bench_console.sh $(BUILD)

# tapwatch and ndpiReader on a veth pair fed by tcpreplay at rising rates (scripts/bench_live.sh)
bench-live: all
	@bash scripts/bench_live.sh $(BUILD)

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# store_driver (integration test helper)
$(BUILD)/tests/store_driver: $(BUILD)/tests/integration/store_driver.o $(CONTROL_LIBS) $(DPDK_LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CONTROL_LINK) $(PKG_LIBS)

# ---- fuzzing (tests/fuzz/; README "Fuzzing") ---------------------------------------------
# libFuzzer targets, built with clang under ASan + UBSan into build-fuzz/. Each target compiles
# the sources it tests directly (no DPDK EAL is started), so the gcc objects are not reused.
#   make fuzz            seed corpora (tests/fuzz/make_seeds.py), then every target for
#                        FUZZ_SECONDS (default 60); new inputs go to build-fuzz/corpus/,
#                        crashes to build-fuzz/artifacts/
#   make fuzz-build      the binaries only (tests/integration/test_fuzz_smoke.sh calls it)
FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_HDRS = $(wildcard dataplane/*.h control/*/*.h)
fuzz_parse_SRCS := dataplane/parse.c dataplane/counters.c
fuzz_pcap_SRCS := dataplane/source_pcap.c dataplane/pcap_map.c dataplane/pcap_pager.c dataplane/mbuf_meta.c dataplane/parse.c dataplane/counters.c
fuzz_pcap_LIBS := -lpcap -lrte_mbuf -lrte_mempool -lrte_eal
# the configuration checks names against the lists of log.c and syslog_format.c (alert text)
fuzz_config_SRCS := control/plane/config.c control/plane/log.c control/store/syslog_format.c control/record/units.c \
	control/record/alert.c control/record/keys.c control/record/record_json.c dataplane/flow_record.c
fuzz_config_LIBS := -lyaml -ljson-c -lndpi -lm
fuzz_timeparse_SRCS := control/query/timeparse.c
fuzz_record_json_SRCS := control/record/record_json.c dataplane/flow_record.c
fuzz_record_json_LIBS := -ljson-c -lndpi -lm
# the policy loader (control/policy/) with what it links against: no Redis, no files written
fuzz_policy_SRCS := $(wildcard control/policy/*.c) control/record/netmatch.c control/record/alert.c control/record/units.c \
	control/record/keys.c control/record/record_json.c dataplane/flow_record.c
fuzz_policy_LIBS := -lyaml -ljson-c -lndpi -lm -lcrypto
# the parse target also runs what reads a parsed packet's bytes again (dedup, TCP sequences)
fuzz_parse_SRCS += dataplane/dedup.c dataplane/tcp_seen.c
fuzz_reassembly_SRCS := dataplane/reassembly.c dataplane/parse.c dataplane/counters.c
FUZZ_TARGETS := parse pcap config timeparse record_json policy
FUZZ_TARGETS += reassembly
# what verify parses from Redis: seal lines, record tags, alert fields (control/evidence/)
fuzz_evidence_SRCS := control/evidence/chain.c control/evidence/seal.c control/evidence/sign_key.c \
                      control/evidence/witness.c
fuzz_evidence_LIBS := -lsodium -lcrypto
FUZZ_TARGETS += evidence
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

define FUZZ_RULE
$(FUZZ_BUILD)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz_file.h $(fuzz_$(1)_SRCS) $$(FUZZ_HDRS)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $$(PKG_CFLAGS) -o $$@ $$< $(fuzz_$(1)_SRCS) $(fuzz_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

.PHONY: fuzz-build fuzz-targets
fuzz-build: $(FUZZ_BINS)
fuzz-targets:
	@echo $(FUZZ_TARGETS)
fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)
clean: fuzz-clean
# ---- end of fuzzing ----------------------------------------------------------------------

# ---- install (README "Installing as a service") ------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: the three programs (tapwatch,
# tapwatch-query, tapwatch-console), their man pages,
# the systemd unit (tapwatch@IFACE) and its system user, and /etc/tapwatch with the example
# configuration and policy. A configuration already there is never overwritten: the new
# examples go beside it as *.yaml.example. The installed configuration keeps run_dir in
# /var/lib/tapwatch and reads the installed policy (the checkout's demo keeps its own).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TW_ETC := $(DESTDIR)$(SYSCONFDIR)/tapwatch
# what install builds first; tests/integration/test_service_unit.sh installs a build tree
# made with other flags (build-san) and sets it empty
INSTALL_DEPS ?= all

.PHONY: install uninstall
install: $(INSTALL_DEPS)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(TW_ETC) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BUILD)/tapwatch $(BUILD)/tapwatch-query $(BUILD)/tapwatch-console \
		$(DESTDIR)$(BINDIR)/
	install -m 0644 scripts/man/tapwatch.8 $(DESTDIR)$(MANDIR)/man8/tapwatch.8
	install -m 0644 scripts/man/tapwatch-query.1 $(DESTDIR)$(MANDIR)/man1/tapwatch-query.1
	install -m 0644 scripts/man/tapwatch-console.8 $(DESTDIR)$(MANDIR)/man8/tapwatch-console.8
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' 'scripts/tapwatch@.service' \
		>'$(DESTDIR)$(UNITDIR)/tapwatch@.service'
	chmod 0644 '$(DESTDIR)$(UNITDIR)/tapwatch@.service'
	install -m 0644 scripts/tapwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/tapwatch.conf
	sed -e 's|^run_dir: .*|run_dir: /var/lib/tapwatch|' \
		-e 's|^policy: .*|policy: $(SYSCONFDIR)/tapwatch/policy.yaml|' \
		-e 's|^stats_interval: .*|stats_interval: 1m|' config/tapwatch.yaml >$(TW_ETC)/tapwatch.yaml.example
	install -m 0644 config/policy.yaml $(TW_ETC)/policy.yaml.example
	chmod 0644 $(TW_ETC)/tapwatch.yaml.example
	@for f in tapwatch.yaml policy.yaml; do \
		if [ -e $(TW_ETC)/$$f ]; then \
			echo "kept $(TW_ETC)/$$f (the new example is $(TW_ETC)/$$f.example)"; \
		else \
			cp -p $(TW_ETC)/$$f.example $(TW_ETC)/$$f && echo "installed $(TW_ETC)/$$f"; \
		fi; \
	done
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/tapwatch.conf && \
		{ systemctl daemon-reload 2>/dev/null || true; }; \
	fi

# What install copied, except /etc/tapwatch/*.yaml (the operator's) and /var/lib/tapwatch.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tapwatch $(DESTDIR)$(BINDIR)/tapwatch-query \
		$(DESTDIR)$(BINDIR)/tapwatch-console \
		$(DESTDIR)$(MANDIR)/man8/tapwatch.8 $(DESTDIR)$(MANDIR)/man1/tapwatch-query.1 \
		$(DESTDIR)$(MANDIR)/man8/tapwatch-console.8 \
		'$(DESTDIR)$(UNITDIR)/tapwatch@.service' $(DESTDIR)$(SYSUSERSDIR)/tapwatch.conf \
		$(TW_ETC)/tapwatch.yaml.example $(TW_ETC)/policy.yaml.example
# ---- end of install ----------------------------------------------------------------------
