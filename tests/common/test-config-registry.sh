#!/usr/bin/env bash
# test-config-registry.sh PROGRAM... — common/config_registry.c lists exactly
# the configuration keys of the callscope programs (the union of their
# --help-config), so a shared callscope.conf is accepted by every program
# (each skips the others' keys) and a key no program has is still refused.
# The registry comes from tests/common/print_registry.c (cfg_registry_print).
set -uo pipefail
reg=$1
shift
got=$(for p in "$@"; do "$p" --help-config | grep -oE '^[a-z_]+\.[a-z_.]+'; done | sort -u)
want=$("$reg" | sort -u)
if [[ "$got" != "$want" ]]; then
    echo "FAIL: common/config_registry.c and the programs' keys differ:" >&2
    diff <(echo "$want") <(echo "$got") | sed 's/^</registry only:/; s/^>/programs only:/' >&2
    exit 1
fi
echo "PASS: $(wc -l <<<"$want") keys, registry = union of $# programs"
