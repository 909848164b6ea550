#!/usr/bin/env bash
# agentrt run --on EVENT=CMD: hooks of the one task, as batch has them.
# Each hook gets the event's JSON line on its stdin, they run one at a
# time in the order of the events (the exit hook too, after the task has
# ended), the task's exit status is kept, and a bad event name is refused.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 7

art run --on "start=cat >>$T/h.log" --on "exit=cat >>$T/h.log" -- sh -c 'exit 3'
is "$ART_RC" 3 "the task's exit status is kept"
strict_jsonl "$T/h.log"
ok $? "each hook got one JSON line on its stdin"
is "$(records "$T/h.log" event exit_code | tr '\t\n' ': ')" "started:<absent> exited:3 " \
	"start, then exit with the task's code"

# Restarts fire the restart hook between the runs.
art run --restart on-failure --max-restarts 1 --backoff fixed:50ms \
	--on "start=cat >>$T/r.log" --on "restart=cat >>$T/r.log" -- sh -c 'exit 2'
is "$ART_RC" 2 "gave up: the last run's status"
is "$(records "$T/r.log" event | tr '\n' ' ')" "started retry started " \
	"start, restart, start: in order"

# A hook's output goes to stderr: stdout is the task's alone.
out=$(art run --on "exit=echo from-the-hook" -- echo from-the-task 2>"$T/err")
is "$out" "from-the-task" "stdout carries the task's output only"

art run --on "finish=true" -- true 2>"$T/bad"
is "$ART_RC/$(grep -c 'not one of' "$T/bad")" "125/1" "an unknown event is refused (status 125)"
