# Two set-up commands on a fresh clone: `make serve` and `make test`.
# onnxruntime-node's postinstall downloads CUDA provider libraries and fails offline, so installs
# here skip it; the container build (container/Dockerfile) does not skip.
export ONNXRUNTIME_NODE_INSTALL ?= skip
# swagger-ui-dist depends on @scarf/scarf, whose install script reports the download: opt out.
export SCARF_ANALYTICS ?= false
NPM ?= npm
NODE ?= node
PORT ?= 8080

STAMP_INSTALL := node_modules/.install-stamp
STAMP_BUILD := dist/.build-stamp
SOURCES := $(shell find src scripts test bench -name '*.ts' 2>/dev/null) tsconfig.json

.PHONY: all install build models serve test test-unit bench bench-int8 bench-int8-ops bench-batching bench-cold bench-budget bench-layout bench-quick bench-multi bench-ping bench-s3 soak image image-cpu clean

all: build

$(STAMP_INSTALL): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: $(STAMP_INSTALL)

$(STAMP_BUILD): $(STAMP_INSTALL) $(SOURCES)
	$(NPM) run build
	@touch $@

build: $(STAMP_BUILD)

# The embedded demo model (deterministic, small): `make serve` uses it when no model is configured.
models/demo/model.onnx: $(STAMP_BUILD)
	$(NODE) dist/scripts/gen-model.js --preset demo --out models/demo

models: models/demo/model.onnx

serve: build models
	PORT=$(PORT) $(NODE) dist/src/cli.js serve

test: build models
	$(NODE) scripts/run-tests.mjs

test-unit: build
	$(NODE) scripts/run-tests.mjs unit

bench: build models
	$(NODE) dist/bench/run.js
	$(NODE) dist/bench/decoder.js
	$(NODE) dist/bench/int8.js
	$(NODE) dist/bench/coldStart.js
	$(NODE) dist/bench/layout.js

# Time to /ping 200 for the BERT-base shape by phase, local and S3 (s3rver), against 1.5 x (read + one session).
bench-cold: build
	$(NODE) dist/bench/coldStart.js $(COLD_ARGS)

# Tokens per CPU-second of one worker session per MAX_BATCH_TOKENS (the CPU default's evidence).
bench-budget: build
	$(NODE) dist/bench/batchBudget.js $(BUDGET_ARGS)

# Memory layouts (per-session, one-session, shared) x MiniLM-L6 and BERT-base: pairs/s at C=16, peak RSS and PSS.
bench-layout: build
	$(NODE) dist/bench/layout.js $(LAYOUT_ARGS)

# fp32 vs the project's own int8 at C=16 (MiniLM-L6 and BERT-base shapes), with fidelity on real pairs.
bench-int8: build
	$(NODE) dist/bench/int8.js $(INT8_ARGS)

# What limits int8: fp32 vs int8 encodings in one process, pairs per CPU-second, per-op profile (ORT enableProfiling).
bench-int8-ops: build
	$(NODE) dist/bench/int8Ops.js --profile $(INT8_OPS_ARGS)

# The batching rule alone (no model, no clock): padding efficiency and latency of the previous and current pickBatch.
bench-batching: build
	$(NODE) dist/bench/batchSim.js $(BATCH_ARGS)

bench-quick: build models
	$(NODE) dist/bench/run.js --quick

# Not part of `make test`: 10 minutes at 80 % of measured capacity over loopback; writes bench/soak.json.
# Shorter: make soak SOAK_ARGS='--minutes 1'
soak: build models
	$(NODE) dist/bench/soak.js $(SOAK_ARGS)

# Many queries in one call (POST /rerank/multi) vs 8 separate requests; writes bench/multiQuery.json.
bench-multi: build
	$(NODE) dist/bench/multiQuery.js

# Slowest /ping while one hostile-sized request is parsed, tokenized and answered (issue 11's 100 ms
# target); writes bench/pingStall.json.
bench-ping: build
	$(NODE) dist/bench/pingStall.js $(PING_ARGS)

# S3 download: this downloader vs one plain GetObject (and one with inline MD5), against s3rver.
bench-s3: build
	$(NODE) dist/bench/s3download.js --mb 256 --rounds 5

image:
	docker build -f container/Dockerfile -t sagemaker-reranker:latest .

image-cpu:
	docker build -f container/Dockerfile.cpu -t sagemaker-reranker:cpu .

clean:
	rm -rf dist models bench/results.json
