# Development entry points. See README.md.
SHELL := /bin/bash
SCRIPTS := scripts
RUN_DB ?= crm_sms_conversation_demo
RUN_PORT ?= 8069

BENCH_DB ?= crm_sms_conversation_bench

.PHONY: help setup run test test-only soak lint bench screenshots clean

help:
	@echo "make run    set everything up and serve the addon with demo data on http://localhost:$(RUN_PORT) (admin/admin)"
	@echo "make test   run the whole test suite (linters and Odoo tests on a fresh database)"
	@echo "           on Odoo 18.0, or on the series ODOO_SERIES names (ODOO_SERIES=19.0 make test)"
	@echo "make soak   the long checks: 10,000 generated webhook calls, 10,000 cases per parser test,"
	@echo "           then crashes, a provider outage, a database restart and two servers on one database (18.0)"
	@echo "make lint   run ruff and pylint-odoo's mandatory checks"
	@echo "make bench  the benchmarks: routing lookup vs stock Odoo, webhook at 1M contacts, HTTP throughput,"
	@echo "           installation on 1M contacts (bench/README.md; results in bench/RESULTS.md)"
	@echo "make screenshots  redo docs/images/*.png against a running 'make run' (headless Chromium)"

setup:
	@bash $(SCRIPTS)/setup.sh

run: setup
	@bash $(SCRIPTS)/run_demo.sh "$(RUN_DB)" "$(RUN_PORT)"

lint: setup
	@bash $(SCRIPTS)/lint.sh

test-only: setup
	@bash $(SCRIPTS)/run_tests.sh

test: setup
	@bash $(SCRIPTS)/lint.sh && bash $(SCRIPTS)/run_tests.sh

soak: setup
	@SMS_FUZZ_EXAMPLES=$${SMS_FUZZ_EXAMPLES:-10000} SMS_FUZZ_HTTP_EXAMPLES=$${SMS_FUZZ_HTTP_EXAMPLES:-10000} \
		TEST_TAGS=/crm_sms_conversation:TestParsersFuzz,/crm_sms_conversation:TestWebhookFuzz \
		TEST_LOG=$${TEST_LOG:-.build/$${ODOO_SERIES:-18.0}/soak.log} bash $(SCRIPTS)/run_tests.sh; fuzz=$$?; \
	bash $(SCRIPTS)/run_reliability.sh; reliability=$$?; exit $$(( fuzz || reliability ))

bench: setup
	@[ "$${ODOO_SERIES:-18.0}" = 18.0 ] || { echo "the benchmarks run on Odoo 18.0 (unset ODOO_SERIES)"; exit 2; }
	@[ "$${BENCH_ONLY:-routing}" != routing ] || bash bench/run_routing_lookup.sh "$(BENCH_DB)"
	@[ "$${BENCH_ONLY:-}" = routing ] || bash bench/run_scale.sh

screenshots: setup
	@. $(SCRIPTS)/env.sh && "$$VENV/bin/python" $(SCRIPTS)/screenshots.py \
		--url "http://localhost:$(RUN_PORT)" --db "$(RUN_DB)" --out docs/images

clean:
	rm -rf .build
