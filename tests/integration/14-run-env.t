#!/usr/bin/env bash
# agentrt run: --env, --clear-env, --allow-env (with prefix*), --cwd.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 21

export AGT_ONE=1 AGT_TWO=2 AGTX_OTHER=3 HOME=/home/agentrt-home-marker

artc run --env FOO=bar -- "$PROBE" env
like "$OUT" $'(^|\n)FOO=bar($|\n)' "--env FOO=bar is set"
like "$OUT" $'(^|\n)PATH=' "the environment is inherited by default (PATH)"
like "$OUT" $'(^|\n)AGT_ONE=1($|\n)' "the environment is inherited by default (AGT_ONE)"

artc run --env FOO=a --env BAR=b --env 'EQ=x=y' -- "$PROBE" env
like "$OUT" $'(^|\n)FOO=a\n(.*\n)?BAR=b|(^|\n)BAR=b\n(.*\n)?FOO=a' "--env is repeatable"
like "$OUT" $'(^|\n)EQ=x=y($|\n)' "a value may contain '='"

artc run --env HOME=/elsewhere -- "$PROBE" env
is "$(grep -c '^HOME=' <<<"$OUT")" 1 "--env overrides an inherited variable: one HOME"
like "$OUT" $'(^|\n)HOME=/elsewhere($|\n)' "and it has the new value"

artc run --clear-env --env A=1 --env B=two -- "$PROBE" env
is "$(sort <<<"$OUT")" "$(printf 'A=1\nB=two')" "--clear-env: only the set variables remain"
artc run --clear-env -- "$PROBE" env
is "$ART_RC/$OUT" "0/" "--clear-env alone: an empty environment"
artc run --clear-env -- true
is "$ART_RC" 0 "--clear-env: a bare command name is still found"

artc run --allow-env PATH -- "$PROBE" env
is "$(cut -d= -f1 <<<"$OUT" | sort | tr '\n' ' ')" "PATH " "--allow-env PATH: only PATH is kept"
unlike "$OUT" "HOME=" "--allow-env PATH: HOME is gone"

artc run --allow-env 'AGT_*' --allow-env HOME -- "$PROBE" env
is "$(sort <<<"$OUT" | tr '\n' ' ')" "AGT_ONE=1 AGT_TWO=2 HOME=/home/agentrt-home-marker " \
	"--allow-env 'AGT_*': a prefix keeps AGT_ONE and AGT_TWO, not AGTX_OTHER"

artc run --allow-env PATH --env EXTRA=1 -- "$PROBE" env
is "$(cut -d= -f1 <<<"$OUT" | sort | tr '\n' ' ')" "EXTRA PATH " "--allow-env with --env: kept and set ones"

artc run --allow-env PATH -- env
is "$ART_RC" 0 "--allow-env PATH: a bare command is still found through PATH"

artc run --env NOEQUALSSIGN -- "$PROBE" env
is "$ART_RC" 125 "--env without '=' is a usage error (125)"

# --- cwd
mkdir -p "$T/sub dir/deeper"
want=$(cd "$T/sub dir/deeper" && pwd -P)
artc run --cwd "$T/sub dir/deeper" -- "$PROBE" cwd
is "$OUT" "$want" "--cwd DIR: the task runs there (a path with a space)"
cwd_here=$(pwd -P)
artc run -- "$PROBE" cwd
is "$OUT" "$cwd_here" "without --cwd: the caller's directory"
(cd "$T" && art run --cwd "sub dir" -- "$PROBE" cwd >"$T/out" 2>"$T/err")
is "$(cat "$T/out")" "$(cd "$T/sub dir" && pwd -P)" "--cwd relative to the caller's directory"

printf 'x' >"$T/afile"
artc run --cwd "$T/afile" -- "$PROBE" cwd
is "$ART_RC" 125 "--cwd on a file -> 125"
like "$ERR" "Not a directory \(chdir\)" "and says Not a directory (chdir)"

done_testing
