# Tixin build. `make` builds build/tixin (release, -O2); `make asan` builds
# build/asan/tixin with AddressSanitizer + UBSan; `make test` runs every test
# (see tests/run).
# B=DIR puts every output under DIR instead of build/. Sources are found by folder, so a new .c file needs no
# edit here.

CC      ?= cc
PKGS    := libh2o-evloop libsodium jansson sqlite3 libqrencode zlib openssl libpq hiredis
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_COMMON := -std=gnu11 $(WARN) -DH2O_USE_LIBUV=0 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -MMD -MP
LIBS    := $(PKG_LIBS) -lwslay -lpthread -lm

SRC     := $(shell find src -name '*.c' | sort)
LIB_SRC := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(wildcard tests/unit/*.c)

B        ?= build
REL_DIR  := $(B)/release
ASAN_DIR := $(B)/asan

REL_CFLAGS  := $(CFLAGS_COMMON) -O2 -g
ASAN_CFLAGS := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
ASAN_LDFLAGS := -fsanitize=address,undefined

REL_OBJ  := $(SRC:%.c=$(REL_DIR)/%.o)
ASAN_OBJ := $(SRC:%.c=$(ASAN_DIR)/%.o)
REL_LIB_OBJ := $(LIB_SRC:%.c=$(REL_DIR)/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(ASAN_DIR)/%.o)

.PHONY: all release asan unit test clean bench

all: release
release: $(B)/tixin
asan: $(B)/asan/tixin

# SQL migrations are compiled in, one C table per backend (store/migrations.h):
# src/store/migrations/*.sql -> migrations[] (SQLite),
# the shared 0001_init.sql + src/store/pg/migrations/*.sql -> pg_migrations[] (PostgreSQL).
MIGRATION_TABLES := migrations pg_migrations
migrations_SQL := $(sort $(wildcard src/store/migrations/*.sql))
pg_migrations_SQL := src/store/migrations/0001_init.sql $(sort $(wildcard src/store/pg/migrations/*.sql))
GEN_REL  := $(MIGRATION_TABLES:%=$(REL_DIR)/gen/%.o)
GEN_ASAN := $(MIGRATION_TABLES:%=$(ASAN_DIR)/gen/%.o)
.SECONDEXPANSION:
$(B)/gen/%.c: $$($$*_SQL) scripts/embed-migrations.sh
	@mkdir -p $(B)/gen
	sh scripts/embed-migrations.sh $* $($*_SQL) > $@

$(B)/tixin: $(REL_OBJ) $(GEN_REL)
	$(CC) -o $@ $^ $(LIBS)

$(B)/asan/tixin: $(ASAN_OBJ) $(GEN_ASAN)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS)

$(REL_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

$(ASAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

$(REL_DIR)/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

$(ASAN_DIR)/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

# C unit tests of the pure parts, built with the sanitizers.
$(B)/unit-tests: $(UNIT_SRC) $(ASAN_LIB_OBJ) $(GEN_ASAN)
	$(CC) $(ASAN_CFLAGS) $(ASAN_LDFLAGS) -o $@ $(UNIT_SRC) $(ASAN_LIB_OBJ) $(GEN_ASAN) $(LIBS)

unit: $(B)/unit-tests
	$(B)/unit-tests

# bench/run --ceiling: a server that answers the bench's mix with canned
# bytes, to measure the benchmark's own ceiling (bench/null-server.c).
bench: $(B)/bench-null-server
$(B)/bench-null-server: bench/null-server.c
	@mkdir -p $(B)
	$(CC) -std=gnu11 $(WARN) -O2 -o $@ $< -lpthread

test: release asan $(B)/unit-tests
	B=$(B) tests/run

clean:
	rm -rf $(B)

-include $(REL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
