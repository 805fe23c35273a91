# pci-doe harness.  See README.md.
#
#   make [build]      overlay our files on linux-source-6.12, build the kernel
#                     (build/obj) and the guest initramfs
#   make run          boot it in QEMU (TOPO=direct|switch, CMD=, EXTRA=, APPEND=)
#   make check        KUnit + kselftests on both topologies, console scan
#   make lint         checkpatch, kernel-doc, W=1, sparse, shellcheck
#   make series       upstream patch series in build/series/ (series-check: build it)
#   make bench        stock 6.12 DOE library vs ours: table, CSV/JSON, plot
#                     in build/bench/ (BENCH_QUICK=1: fewer repetitions)
#   make deps         install missing Debian packages (every target runs it)
#   make clean        remove build/obj and build/logs (distclean: all of build/)
#
# The scripts serialise on build/.lock (flock): a second make waits.

SHELL := /bin/bash
.DEFAULT_GOAL := build
.SUFFIXES:

# Passed to the scripts through the environment, unexpanded (CMD may hold
# '$' and quotes).
override CMD := $(value CMD)
export TOPO CMD EXTRA APPEND TIMEOUT ACCEL V JOBS BENCH_QUICK

S := scripts

.PHONY: deps build run check lint series series-check bench clean distclean help

deps:
	@$(S)/deps.sh

build: deps
	@$(S)/build.sh
	@$(S)/initramfs.sh

run: deps
	@$(S)/run.sh

check: deps
	@$(S)/check.sh

lint: deps
	@$(S)/lint.sh

series: deps
	@$(S)/series.sh

series-check: deps
	@$(S)/series.sh --check

bench: deps
	@$(S)/bench.sh

clean: deps
	@$(S)/clean.sh

distclean: deps
	@$(S)/clean.sh --all

help:
	@sed -n '3,14p' Makefile | sed 's/^# \{0,1\}//'
