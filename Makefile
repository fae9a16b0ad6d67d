# Shortcuts for those who have make; ./dev.sh does the work (a fresh machine may not have make).
.PHONY: run test setup
run:
	./dev.sh run
test:
	./dev.sh test
setup:
	./dev.sh setup
