# Shortcuts for the project's scripts; each script documents itself.
.PHONY: test bench fuzz

test:
	scripts/test

bench:
	scripts/bench

fuzz:
	scripts/fuzz
