# The two commands: `make run` serves the demo town, `make test` passes the whole suite.
# Both install what is missing first (scripts/setup.sh).
.PHONY: run test setup lint bench-demo clean

# The checkout: recipes run in it, wherever make was started (make -C DIR, make -f DIR/Makefile).
HERE := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

run: setup
	cd '$(HERE)' && bash scripts/run.sh

test:
	cd '$(HERE)' && bash scripts/setup.sh --test
	cd '$(HERE)' && .venv/bin/ruff check .
	cd '$(HERE)' && .venv/bin/pytest

setup:
	cd '$(HERE)' && bash scripts/setup.sh

lint: setup
	cd '$(HERE)' && .venv/bin/ruff check .

clean:
	-cd '$(HERE)' && .venv/bin/gridsvc db stop
	cd '$(HERE)' && rm -rf var test-artifacts
