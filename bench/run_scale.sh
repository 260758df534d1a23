#!/usr/bin/env bash
# The scale, throughput and installation benchmarks (make bench runs this
# after the routing benchmark). Creates the databases once (bench/scale_db.sh),
# then runs each benchmark, which writes its section of bench/RESULTS.md.
# Settings (environment): BENCH_PREFIX (database names, crm_sms_conversation_bench),
# BENCH_PORT (first of the ports used, 18700), BENCH_SCALE_PARTNERS (1000000),
# BENCH_SCALE_LEADS (300000), BENCH_SMALL_PARTNERS (1000), BENCH_SMALL_LEADS (300),
# BENCH_ONLY (throughput, processing, scale, outbound or install: only that one), BENCH_REBUILD=1;
# those of each benchmark are in bench/README.md.
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"
PREFIX=${BENCH_PREFIX:-crm_sms_conversation_bench}
PORT=${BENCH_PORT:-18700}
ONLY=${BENCH_ONLY:-}
want() { [ -z "$ONLY" ] || [[ " $* " == *" $ONLY "* ]]; }
db() { bash "$ADDON_DIR/bench/scale_db.sh" "$@"; }
# Only the databases the chosen benchmarks use are made (once).
if want scale install; then
    BIG=$(db "$PREFIX" "${BENCH_SCALE_PARTNERS:-1000000}" "${BENCH_SCALE_LEADS:-300000}")
fi
if want scale; then
    SMALL=$(db "$PREFIX" "${BENCH_SMALL_PARTNERS:-1000}" "${BENCH_SMALL_LEADS:-300}")
fi
if want throughput processing; then
    # The throughput and processing benchmarks leave thousands of messages: a database of their own.
    HTTP=$(db "${PREFIX}_http" "${BENCH_SMALL_PARTNERS:-1000}" "${BENCH_SMALL_LEADS:-300}" "$PREFIX")
fi
py() { "$VENV/bin/python" "$ADDON_DIR/bench/$1" "${@:2}"; }
run() {
    # The command written next to the results: what reproduces them.
    BENCH_COMMAND="$(env | grep -E '^BENCH_(SCALE|SMALL|HTTP|PROC|INSTALL)_' | sort | tr '\n' ' ')python bench/$1 ${*:2}" py "$@"
}
if want throughput; then
    run http_throughput.py --db "$HTTP" --port "$PORT"
fi
if want processing; then
    run processing_throughput.py --db "$HTTP" --port $((PORT + 30))
fi
if want scale; then
    run scale_webhook.py --big "$BIG" --small "$SMALL" --port $((PORT + 10))
fi
if want outbound; then
    bash "$ADDON_DIR/bench/run_routing_lookup.sh" "${PREFIX%_bench}_outbound_bench" outbound_drain.py
fi
if want install; then
    run install_scale.py --stock "${BIG}_stock"
fi
