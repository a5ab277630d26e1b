# The two commands of the README, and a few for development.
.PHONY: demo test check setup up down topics image containers

demo:            ## set up everything, run 120 simulated days of dunning (docs/demo.md)
	scripts/demo

test:            ## set up everything, start Kafka and PostgreSQL, run every check and test
	scripts/test

check:           ## format, lint, types, contracts, tests (servers already running)
	scripts/check

setup:           ## virtual environment, Kafka jars, PostgreSQL packages
	scripts/setup

image:           ## build the image with podman from a Debian base (no daemon) and check it
	scripts/image

containers:      ## the containers suite: testcontainers on podman with local Kafka/PostgreSQL images
	scripts/image containers

up:              ## start Kafka and PostgreSQL and leave them running
	infra/kafka.sh start
	infra/postgres.sh start

down:            ## stop Kafka and PostgreSQL
	infra/kafka.sh stop
	infra/postgres.sh stop
