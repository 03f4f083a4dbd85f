.DEFAULT_GOAL := help
.PHONY: help run worker test compose-check lint format migrations schema clean simulator smoke postman loadtest benchmark

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run:  ## Install, migrate, seed, then run the API on http://127.0.0.1:5000, a job worker and the PhonePe simulator (Ctrl-C stops all; HOST=0.0.0.0 exposes the API; DEMO=1: 90 days of demo activity)
	scripts/run.sh

worker:  ## Run a background-job worker alone (on the project's own PostgreSQL unless DATABASE_URL is set)
	scripts/bootstrap.sh requirements-local.txt
	DEBUG=$${DEBUG:-1} .venv/bin/python -m manas360.devservers run -- sh -c \
	  '.venv/bin/python manage.py migrate --no-input && exec .venv/bin/python manage.py jobs_worker'

# PORT given on the command line is the simulator's; one inherited from the shell is the API's (`make run`).
simulator:  ## Run the local PhonePe simulator beside `make run` (PHONEPE_SIMULATOR_URL, or PORT=8090 API_PORT=5000)
	scripts/bootstrap.sh requirements.txt
	DEBUG=1 .venv/bin/python manage.py phonepe_simulator $(if $(filter command line,$(origin PORT)),--port $(PORT)) \
		--callback-url http://127.0.0.1:$(or $(API_PORT),$(if $(filter environment,$(origin PORT)),$(PORT)),5000)/api/v1/payments/webhook

test:  ## Run the whole test suite against a throw-away PostgreSQL (from a wheel, no root) and Redis
	scripts/test.sh $(ARGS)

smoke:  ## Walk through the product by hand (health, OTP login, admin with MFA, themes, payment) against BASE_URL
	scripts/bootstrap.sh requirements.txt
	.venv/bin/python scripts/smoke.py --base-url "$(or $(BASE_URL),http://localhost:$(or $(PORT),5000))"

loadtest:  ## Mixed journey at 100 req/s for 60 s against the production server + PostgreSQL (docs/performance.md); ARGS="--rps 50"
	scripts/benchmark_env.sh .venv/bin/python loadtest/run.py $(ARGS)

benchmark:  ## Our endpoints vs the framework floor, same PostgreSQL and server (docs/performance.md)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	scripts/benchmark_env.sh .venv/bin/python scripts/benchmark.py $(ARGS)

compose-check:  ## Validate docker-compose.yml with a real Compose parser
	scripts/compose-check.sh

lint:  ## The docs' paths, ruff, ruff format --check, mypy, the import contracts, migrations, the Kubernetes manifests
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python scripts/check_doc_paths.py
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache
	DEBUG=1 .venv/bin/mypy .
	DEBUG=1 .venv/bin/python -m manas360.devservers run -- .venv/bin/python manage.py makemigrations --check --dry-run
	scripts/k8s-validate.sh

format:  ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

schema:  ## Regenerate the OpenAPI schema into docs/openapi.yaml
	scripts/bootstrap.sh requirements.txt
	DEBUG=1 .venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate

postman:  ## Regenerate the Postman collection docs/manas360.postman_collection.json from the OpenAPI schema
	scripts/bootstrap.sh requirements.txt
	DEBUG=1 .venv/bin/python manage.py export_postman --output docs/manas360.postman_collection.json

clean:  ## Remove the virtualenv, the local PostgreSQL's data (var/) and caches
	rm -rf .venv var staticfiles .pytest_cache .ruff_cache .mypy_cache
