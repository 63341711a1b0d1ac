# The two commands: `make run` serves the demo town, `make test` passes the whole suite.
# Both install what is missing first (scripts/setup.sh).
.PHONY: run test setup lint bench-demo clean

run: setup
	bash scripts/run.sh

test:
	bash scripts/setup.sh --test
	.venv/bin/ruff check .
	.venv/bin/pytest

setup:
	bash scripts/setup.sh

lint: setup
	.venv/bin/ruff check .

clean:
	-.venv/bin/gridsvc db stop
	rm -rf var test-artifacts
