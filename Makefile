# agentrt - build, test, benchmark, install. See README.md.
#
#   make            library (static and shared), CLI, test probe
#   make check      every test (Python tests, then C unit tests and integration tests on the real CLI)
#   make python     the Python package's extension, built in place (PYTHONPATH=python)
#   make check-python  the Python package's tests (pytest of $(PYTHON))
#   make check-asan the same under ASan + UBSan
#   make check-valgrind  the unit tests under valgrind
#   make bench      the benchmarks in bench/, peers side by side
#   make demo       runs examples/ through `agentrt batch`
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
B ?= build

CC ?= cc
# Debian's interpreter: the one with python3-pytest and python3-dev (scripts/deps.sh).
PYTHON ?= /usr/bin/python3
OPT ?= -O2
SAN ?=
WARN = -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
       -Wno-format-nonliteral
JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN) -D_GNU_SOURCE -fPIC -fvisibility=hidden \
	     -Iinclude -Isrc $(JANSSON_CFLAGS) $(SECCOMP_CFLAGS) $(MHD_CFLAGS) -MMD -MP
SECCOMP_CFLAGS := $(shell pkg-config --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)
# The CLI's metrics endpoint (agentrt batch --metrics-listen).
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
LDLIBS = $(JANSSON_LIBS) $(SECCOMP_LIBS) -lpthread

LIB_SRCS := $(sort $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
INTEGRATION := $(sort $(wildcard tests/integration/*.t))

STATIC := $(B)/libagentrt.a
SHARED := $(B)/libagentrt.so.0
CLI := $(B)/agentrt
PROBE := $(B)/probe
ESCAPE := $(B)/escape

.PHONY: all check check-unit check-integration check-asan check-valgrind bench demo install clean deps \
	python check-python
all: $(STATIC) $(SHARED) $(CLI) $(PROBE) $(ESCAPE)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJS) src/libagentrt.sym
	$(CC) $(SAN) -shared -Wl,-soname,libagentrt.so.0 -Wl,--version-script=src/libagentrt.sym \
		-o $@ $(LIB_OBJS) $(LDLIBS)
	ln -sf libagentrt.so.0 $(B)/libagentrt.so

$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(STATIC) $(LDLIBS) $(MHD_LIBS)

# The probe runs as a task under rlimits (an address-space limit, say) that
# a sanitizer runtime cannot start under: it is built without $(SAN).
$(PROBE): tests/probe.c
	@mkdir -p $(dir $@)
	$(CC) $(subst $(SAN),,$(ALL_CFLAGS)) -o $@ $<

# The escape suite runs inside the sandbox; like the probe, no sanitizer.
$(ESCAPE): tests/escape.c
	@mkdir -p $(dir $@)
	$(CC) $(subst $(SAN),,$(ALL_CFLAGS)) -o $@ $<

$(B)/tests/tap.o: tests/unit/tap.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/tests/tap.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/tests/tap.o $(STATIC) $(LDLIBS)

deps:
	@scripts/deps.sh

# Each unit test binary and each integration script is one TAP stream;
# prove runs them and ends with its summary ("Result: PASS").
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@$(MAKE) --no-print-directory check-python
	AGENTRT=$(abspath $(CLI)) PROBE=$(abspath $(PROBE)) ESCAPE=$(abspath $(ESCAPE)) BUILD=$(abspath $(B)) \
		prove --exec '' $(PROVE_FLAGS) $(UNIT_BINS) $(INTEGRATION)

# The Python package (python/, docs/python.md): agentrt._agentrt linked
# statically against $(STATIC), built in place for PYTHONPATH=python.
python: $(STATIC)
	cd python && AGENTRT_BUILD=$(abspath $(B)) $(PYTHON) setup.py -q build_ext --inplace \
		--build-temp $(abspath $(B))/python/temp --build-lib $(abspath $(B))/python/lib

# Skipped, saying why, where it cannot run: under sanitizers (the extension
# would need their runtime in the interpreter), without pytest or Python.h.
check-python:
	@if [ -n "$(SAN)" ]; then \
		echo "agentrt: SKIP python tests: not built with sanitizers"; exit 0; fi; \
	if ! $(PYTHON) -c 'import pytest' 2>/dev/null; then \
		echo "agentrt: SKIP python tests: $(PYTHON) has no pytest (apt-get install python3-pytest)"; \
		exit 0; fi; \
	if ! [ -f "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then \
		echo "agentrt: SKIP python tests: no Python.h for $(PYTHON) (apt-get install python3-dev)"; \
		exit 0; fi; \
	$(MAKE) --no-print-directory python && \
	PYTHONPATH=python $(PYTHON) -m pytest -q -rs -p no:cacheprovider python/tests && \
	if $(PYTHON) -c 'import mypy' 2>/dev/null; then \
		$(PYTHON) -m mypy --strict --cache-dir $(abspath $(B))/mypy-cache python/agentrt; \
	else echo "agentrt: SKIP mypy: $(PYTHON) has no mypy (apt-get install python3-mypy)"; fi

check-unit: all $(UNIT_BINS)
	prove --exec '' $(PROVE_FLAGS) $(UNIT_BINS)

check-integration: all
	AGENTRT=$(abspath $(CLI)) PROBE=$(abspath $(PROBE)) ESCAPE=$(abspath $(ESCAPE)) BUILD=$(abspath $(B)) \
		prove --exec '' $(PROVE_FLAGS) $(INTEGRATION)

# Sanitizers change timing and memory use: the asan build lives apart.
check-asan:
	@$(MAKE) --no-print-directory check B=build-asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		ASAN_OPTIONS=detect_leaks=1

# The unit tests under valgrind (forked test processes are followed; the
# programs that tasks exec are not). Any error or leak fails the run.
check-valgrind: all $(UNIT_BINS)
	@for t in $(UNIT_BINS); do \
		echo "valgrind $$t"; \
		TAP_TIMEOUT=120 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect $$t > /dev/null || exit 1; \
	done; echo "valgrind: no errors"

bench: deps all
	bench/run.sh $(abspath $(B))

demo: deps all
	examples/demo.sh $(abspath $(CLI))

$(B)/agentrt.pc: agentrt.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(shell sed -n 's/.*ART_VERSION_STRING "\(.*\)"/\1/p' include/agentrt.h)|' \
		$< > $@

install: all $(B)/agentrt.pc
	install -Dm755 $(CLI) $(DESTDIR)$(BINDIR)/agentrt
	install -Dm644 $(STATIC) $(DESTDIR)$(LIBDIR)/libagentrt.a
	install -Dm755 $(SHARED) $(DESTDIR)$(LIBDIR)/libagentrt.so.0
	ln -sf libagentrt.so.0 $(DESTDIR)$(LIBDIR)/libagentrt.so
	install -Dm644 include/agentrt.h $(DESTDIR)$(INCLUDEDIR)/agentrt.h
	install -Dm644 $(B)/agentrt.pc $(DESTDIR)$(LIBDIR)/pkgconfig/agentrt.pc
	install -Dm644 docs/agentrt.1 $(DESTDIR)$(MANDIR)/man1/agentrt.1

clean:
	rm -rf build build-asan python/agentrt/*.so

-include $(shell find $(B) -name '*.d' 2>/dev/null)
