#!/usr/bin/env bash
# Exercise every command of README.md's shell blocks.
#   scripts/check-readme.sh           # static check (seconds; .ci/run runs it after the tests):
#       each `cargo run -p CRATE [--bin B] -- SUB --flag …` names a subcommand and flags that the
#       built binary accepts (`SUB --help`), every repository path it mentions exists, every
#       script exists and parses (`bash -n`), `$M`-style variables expand, and the speed table
#       between the bench-results markers is scripts/bench/results.md.
#   scripts/check-readme.sh --run     # run every command as written, in order, in a scratch clone
#       of the repository (long: it trains the README's models).
# Binaries are looked up in $CARGO_TARGET_DIR (or target/): the newer of debug and release.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-check}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# README shell blocks → one command per line (continuations joined, comments stripped).
commands() {
  awk '/^```(sh|bash)$/{on=1; next} /^```/{on=0} on' README.md |
    sed -e 's/[[:space:]]\+#.*$//' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' |
    awk '{ if (sub(/\\$/, "")) { buf = buf $0 } else { print buf $0; buf = "" } }' |
    sed -e 's/[[:space:]]\+/ /g' -e 's/^ //'
}

if [ "$MODE" = "--run" ]; then
  SCRATCH=$(mktemp -d)
  git clone -q "$ROOT" "$SCRATCH/repo"
  cd "$SCRATCH/repo"
  commands | while IFS= read -r cmd; do
    echo "\$ $cmd"
    bash -c "set -e; $(commands | grep '^[A-Z_]*=' | tr '\n' ';') $cmd" </dev/null
  done
  echo "all README commands ran (scratch clone: $SCRATCH/repo)"
  exit 0
fi

fail=0
bad() { echo "README: $*" >&2; fail=1; }
declare -A vars
bin_path() { # the newer of the debug and release builds (a stale one may lack new flags)
  local best=""
  for p in "$TARGET/debug/$1" "$TARGET/release/$1"; do
    [ -x "$p" ] || continue
    if [ -z "$best" ] || [ "$p" -nt "$best" ]; then best=$p; fi
  done
  echo "$best"
}
n=0
while IFS= read -r cmd; do
  n=$((n + 1))
  # Variable definitions (M="cargo run --release -p molecules --").
  if [[ "$cmd" =~ ^([A-Z_]+)=\"(.*)\"$ ]]; then
    vars[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    continue
  fi
  for v in "${!vars[@]}"; do cmd=${cmd//\$$v/${vars[$v]}}; done
  read -r -a w <<<"$cmd"
  # Repository paths mentioned anywhere in the command must exist (outputs under runs/ need not).
  for a in "${w[@]}"; do
    a=${a#*=}
    case "$a" in
      configs/*|scripts/*|datasets/*|checkpoints/*|crates/*|docs/*)
        [ -e "$a" ] || bad "\`$cmd\`: $a does not exist";;
    esac
  done
  case "${w[0]}" in
    cargo)
      [ "${w[1]}" = test ] && continue
      [ "${w[1]}" = run ] || { bad "\`$cmd\`: unexpected cargo subcommand"; continue; }
      crate="" bin="" sub="" i=2
      while [ $i -lt ${#w[@]} ] && [ "${w[$i]}" != "--" ]; do
        case "${w[$i]}" in
          -p) i=$((i + 1)); crate=${w[$i]};;
          --bin) i=$((i + 1)); bin=${w[$i]};;
        esac
        i=$((i + 1))
      done
      bin=${bin:-$crate}
      i=$((i + 1))
      exe=$(bin_path "$bin")
      if [ -z "$exe" ]; then bad "\`$cmd\`: binary $bin is not built (run cargo test --workspace --release first)"; continue; fi
      args=("${w[@]:$i}")
      if [ ${#args[@]} -gt 0 ] && [[ "${args[0]}" != -* ]]; then
        sub=${args[0]}
        args=("${args[@]:1}")
      fi
      help=$("$exe" ${sub:+"$sub"} --help 2>&1) || { bad "\`$cmd\`: \`$bin $sub --help\` fails"; continue; }
      for a in "${args[@]}"; do
        if [[ "$a" == --* ]]; then
          flag=${a%%=*}
          grep -q -- "$flag\b" <<<"$help" || bad "\`$cmd\`: $bin $sub has no flag $flag"
        elif [[ "$a" =~ ^-[a-zA-Z]$ ]]; then
          grep -q -- "$a," <<<"$help" || bad "\`$cmd\`: $bin $sub has no flag $a"
        fi
      done;;
    scripts/*)
      [ -x "${w[0]}" ] || bad "\`$cmd\`: ${w[0]} is not an executable script"
      case "${w[0]}" in *.sh) bash -n "${w[0]}" || bad "\`$cmd\`: ${w[0]} does not parse";; esac;;
    python3) [ -f "${w[1]}" ] || bad "\`$cmd\`: ${w[1]} does not exist";;
    *=*) # an environment prefix (SECTIONS=… scripts/x.sh)
      s=""; for a in "${w[@]}"; do [[ "$a" == *=* ]] || { s=$a; break; }; done
      [ -x "$s" ] || bad "\`$cmd\`: $s is not an executable script";;
    *) bad "\`$cmd\`: no check for this kind of command";;
  esac
done < <(commands)
# The speed table is the benchmark runner's output, copied by a full `scripts/bench/run.sh`.
python3 - <<'PY' || fail=1
import sys
readme, results = open("README.md").read(), open("scripts/bench/results.md").read()
begin, end = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
i, j = readme.find(begin), readme.find(end)
if i < 0 or j < i:
    sys.exit(f"README: no {begin} ... {end} block (the speed table from scripts/bench/results.md)")
if readme[i + len(begin):j].strip("\n") != results.split("\n", 1)[1].strip("\n"):
    sys.exit("README: the bench-results block differs from scripts/bench/results.md "
             "(a full scripts/bench/run.sh copies it)")
PY
[ $fail = 0 ] || exit 1
echo "README: $n command lines checked"
