#!/bin/sh
# count-insns.sh IMAGE - count the RISC-V instructions a Linux-target guest retires, using
# qemu-riscv64 with one instruction per translation block and per-block exec logging
# (qemu 7.x has no instruction-count plugin packaged in Debian). Slow: ~10-20 M insns/s.
# Usage: guests/scripts/count-insns.sh guests/build/linux/bench-calls-small.elf
set -eu
fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
grep -c '^Trace' <"$fifo" &
qemu-riscv64 -singlestep -d nochain,exec -D "$fifo" "$1" >/dev/null
wait
