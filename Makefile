# tapwatch - build, test, demo, bench.
# `make demo` and `make test` install what is missing first (scripts/install-deps.sh).

BUILD ?= build
CC ?= cc
PKGS := libdpdk libndpi hiredis yaml-0.1 json-c libpcap
SAN ?=

WARN := -Wall -Wextra -Werror -Wno-address-of-packed-member
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP -fno-strict-aliasing
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# pkg-config is only asked when building (not for `make deps`).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpcap -lm -lpthread

DP_SRCS := $(wildcard dataplane/*.c)
CP_MAINS := control/tapwatch.c control/query.c
CP_SRCS := $(filter-out $(CP_MAINS),$(wildcard control/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

DP_OBJS := $(DP_SRCS:%.c=$(BUILD)/%.o)
CP_OBJS := $(CP_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# programs the integration tests drive, besides tapwatch and tapwatch-query
TEST_HELPERS := $(BUILD)/tests/store_driver

.PHONY: all deps demo test unit integration parity check clean bench fuzz
all: $(BUILD)/tapwatch $(BUILD)/tapwatch-query

deps:
	@bash scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libdp.a: $(DP_OBJS)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libcp.a: $(CP_OBJS)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/tapwatch: $(BUILD)/control/tapwatch.o $(BUILD)/libcp.a $(BUILD)/libdp.a
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,--start-group -lcp -ldp -Wl,--end-group $(PKG_LIBS)
$(BUILD)/tapwatch-query: $(BUILD)/control/query.o $(BUILD)/libcp.a $(BUILD)/libdp.a
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,--start-group -lcp -ldp -Wl,--end-group $(PKG_LIBS)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcp.a $(BUILD)/libdp.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,--start-group -lcp -ldp -Wl,--end-group $(PKG_LIBS) -lcmocka

# The whole suite: unit tests, integration tests (real redis-server), parity with ndpiReader.
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(TEST_HELPERS)
	@bash tests/run.sh $(BUILD)

# What CI runs: the suite, then the suite again under ASan + UBSan.
check: test
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 CFLAGS="-O1 -g" all $(UNIT_BINS:$(BUILD)/%=build-san/%) $(TEST_HELPERS:$(BUILD)/%=build-san/%)
	@TW_SANITIZED=1 bash tests/run.sh build-san

demo: deps all
	@bash scripts/demo.sh $(BUILD)

# tapwatch against ndpiReader on the same large capture (see scripts/bench.sh).
bench: deps all
	@bash scripts/bench.sh $(BUILD)

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# store_driver (integration test helper)
$(BUILD)/tests/store_driver: $(BUILD)/tests/integration/store_driver.o $(BUILD)/libcp.a $(BUILD)/libdp.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,--start-group -lcp -ldp -Wl,--end-group $(PKG_LIBS)
