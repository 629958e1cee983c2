#!/usr/bin/env bash
# tests/sdk/install_test.sh BUILD_DIR SOURCE_DIR
#
# What a third-party plugin author gets, end to end, using only installed files:
#   1. cmake --install BUILD_DIR into a temporary prefix; the layout is complete;
#   2. kilnctl new-plugin refuses bad names, an existing non-empty dir, an unknown --lang;
#   3. scaffolds a C++ and a plain C plugin with the installed kilnctl;
#   4. configures (find_package(Kiln 1)), builds and runs the scaffolded tests of
#      each, out of tree, with nothing of BUILD_DIR or SOURCE_DIR in their build;
#   5. the installed kilnctl verifies both; hidden visibility holds;
#   6. kiln.pc builds the C plugin without CMake;
#   7. find_package(Kiln 2) fails cleanly against this 1.x install;
#   8. the installed kilnd (with the installed kiln-worker) runs both every second
#      until each has a succeeded run in the ledger, then stops on SIGTERM.
# Every failure prints one "FAIL:" line naming the step and the log of the command.
# KILN_KEEP_TMP=1 keeps the temporary directory. KILN_SANITIZE=1 (set by ctest
# in a sanitizer build): the installed binaries are instrumented and the
# out-of-tree plugins are not, which ASan supports; it is only reported.
set -uo pipefail

build=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
build=$(cd "$build" && pwd)
source_dir=$(cd "$source_dir" && pwd)
start_s=$SECONDS

tmp=$(mktemp -d /tmp/kiln-sdk-XXXXXX)
prefix=$tmp/prefix
logs=$tmp/logs
mkdir -p "$logs"
kilnd_pid=

cleanup() {
  if [[ -n $kilnd_pid ]] && kill -0 "$kilnd_pid" 2>/dev/null; then
    kill -KILL "$kilnd_pid" 2>/dev/null
    wait "$kilnd_pid" 2>/dev/null
  fi
  if [[ -n ${KILN_KEEP_TMP:-} ]]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

step() { echo "== $* ($((SECONDS - start_s)) s)"; }
fail() {
  echo "FAIL: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then
    echo "---- $2 (last 80 lines)" >&2
    tail -n 80 "$2" >&2
    echo "----" >&2
  fi
  exit 1
}
n=0
# ok WHAT CMD...: runs CMD with its output in a log; fails the test if CMD fails.
ok() {
  local what=$1
  shift
  n=$((n + 1))
  local log=$logs/$n.log
  echo "\$ $*" >"$log"
  "$@" >>"$log" 2>&1
  local rc=$?
  ((rc == 0)) || fail "$what: exit $rc: $*" "$log"
  last_log=$log
}
# refused WHAT EXPECTED_TEXT CMD...: CMD must exit 2 with one line on stderr containing EXPECTED_TEXT.
refused() {
  local what=$1 expected=$2
  shift 2
  local err
  err=$("$@" 2>&1 >/dev/null)
  local rc=$?
  ((rc == 2)) || fail "$what: expected exit 2, got $rc: $* -> $err"
  [[ $(printf '%s\n' "$err" | wc -l) -eq 1 ]] || fail "$what: expected one line on stderr, got: $err"
  [[ $err == *"$expected"* ]] || fail "$what: expected '$expected' in: $err"
  echo "   refused: $err"
}

if [[ ${KILN_SANITIZE:-0} == 1 || ${KILN_SANITIZE:-} == ON ]]; then
  echo "note: sanitizer build: the installed kilnd/kilnctl/kiln-worker are instrumented; the" \
       "out-of-tree plugins and tests are built without sanitizers (ASan loads uninstrumented code)"
fi

# --- 1. install ------------------------------------------------------------
step "install $build into $prefix"
for b in kilnd kilnctl kiln-worker; do
  [[ -x $build/bin/$b ]] || fail "$build/bin/$b is not built: build kilnd, kilnctl and kiln-worker before running this test"
done
ok "cmake --install" cmake --install "$build" --prefix "$prefix"
for f in bin/kilnd bin/kilnctl bin/kiln-worker include/kiln/plugin.h include/kiln/processor.hpp \
         include/kiln/testing.hpp lib/cmake/Kiln/KilnConfig.cmake lib/cmake/Kiln/KilnConfigVersion.cmake \
         lib/cmake/Kiln/KilnTargets.cmake lib/cmake/Kiln/KilnPlugin.cmake lib/pkgconfig/kiln.pc; do
  [[ -e $prefix/$f ]] || fail "the install lacks $f" "$last_log"
done
kilnctl=$prefix/bin/kilnctl

# Nothing below may see the build or source tree: no inherited search paths,
# no user package registry, a neutral working directory.
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH KILN_KILNCTL KILN_PLUGIN_PATH CPATH CPLUS_INCLUDE_PATH C_INCLUDE_PATH
cd "$tmp" || fail "cd $tmp"
cmake_args=(-G Ninja "-DCMAKE_PREFIX_PATH=$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

# --- 2. refusals -----------------------------------------------------------
step "kilnctl new-plugin refusals"
refused "upper case and dash in the name" "invalid plugin name 'Bad-Name'" "$kilnctl" new-plugin Bad-Name --dir "$tmp/x"
refused "name starting with a digit" "invalid plugin name '9lives'" "$kilnctl" new-plugin 9lives --dir "$tmp/x"
refused "name of 65 characters" "expected [a-z][a-z0-9_]{0,63}" "$kilnctl" new-plugin "a$(printf 'b%.0s' {1..64})" --dir "$tmp/x"
refused "unknown language" "--lang 'rust': expected cpp or c" "$kilnctl" new-plugin fine --lang rust --dir "$tmp/x"
mkdir -p "$tmp/occupied" && echo keep >"$tmp/occupied/file"
refused "existing non-empty directory" "directory '$tmp/occupied' exists and is not empty" \
  "$kilnctl" new-plugin fine --dir "$tmp/occupied"
[[ $(cat "$tmp/occupied/file") == keep && ! -e $tmp/occupied/CMakeLists.txt ]] || fail "new-plugin touched a non-empty directory"
[[ ! -e $tmp/x ]] || fail "a refused new-plugin created $tmp/x"

# --- 3. scaffold -----------------------------------------------------------
step "scaffold hello_cpp (C++) and hello_c (C)"
mkdir -p "$tmp/empty_dir"
ok "new-plugin hello_cpp" "$kilnctl" new-plugin hello_cpp --dir "$tmp/empty_dir"  # an empty dir is fine
mv "$tmp/empty_dir" "$tmp/hello_cpp"
ok "new-plugin hello_c" "$kilnctl" new-plugin hello_c --lang c --dir "$tmp/hello_c"
for f in hello_cpp/hello_cpp.cc hello_cpp/CMakeLists.txt hello_cpp/tests/hello_cpp_test.cc hello_cpp/README.md \
         hello_c/hello_c.c hello_c/CMakeLists.txt hello_c/tests/hello_c_test.cc hello_c/README.md; do
  [[ -s $tmp/$f ]] || fail "the scaffold lacks $f"
done

# --- 4. out-of-tree builds and their tests ----------------------------------
for p in hello_cpp hello_c; do
  step "$p: configure, build and test out of tree"
  ok "$p: cmake configure" cmake -S "$tmp/$p" -B "$tmp/$p/build" "${cmake_args[@]}"
  grep -q "Kiln_DIR:PATH=$prefix/lib/cmake/Kiln" "$tmp/$p/build/CMakeCache.txt" ||
    fail "$p: Kiln was not found in $prefix: $(grep Kiln_DIR "$tmp/$p/build/CMakeCache.txt")"
  ok "$p: build" cmake --build "$tmp/$p/build"
  ok "$p: its scaffolded test" ctest --test-dir "$tmp/$p/build" --output-on-failure
  grep -q "100% tests passed" "$last_log" || fail "$p: ctest did not report 100% passed" "$last_log"
  if grep -l -e "$build" -e "$source_dir" "$tmp/$p/build/build.ninja" "$tmp/$p/build/CMakeCache.txt" \
       "$tmp/$p/build/CMakeFiles/$p.dir/flags.make" >/dev/null 2>&1; then
    fail "$p: its build refers to Kiln's build or source tree, not only to the install:
$(grep -h -o -e "[^ ]*${build}[^ ]*" -e "[^ ]*${source_dir}[^ ]*" "$tmp/$p/build/build.ninja" "$tmp/$p/build/CMakeCache.txt" | sort -u | head)"
  fi
  [[ -f $tmp/$p/build/$p.so ]] || fail "$p: no $p.so (kiln_add_plugin names the file NAME.so)"
done

# --- 5. verify ---------------------------------------------------------------
step "installed kilnctl verify"
ok "kilnctl verify" "$kilnctl" verify "$tmp/hello_cpp/build/hello_cpp.so" "$tmp/hello_c/build/hello_c.so"
[[ $(grep -c '^ok ' "$last_log") -eq 2 ]] || fail "kilnctl verify did not pass both" "$last_log"
! grep -q "STB_GNU_UNIQUE" "$last_log" || fail "a scaffolded plugin has STB_GNU_UNIQUE symbols" "$last_log"
exported=$(nm -D --defined-only "$tmp/hello_cpp/build/hello_cpp.so" | awk '{print $3}')
[[ $exported == *kiln_plugin_entry* ]] || fail "hello_cpp.so does not export kiln_plugin_entry: $exported"
# kiln_add_plugin applied the hot-swap flags out of tree.
for flag in -fvisibility=hidden -fvisibility-inlines-hidden -fno-gnu-unique -Wl,--no-undefined; do
  grep -q -- "$flag" "$tmp/hello_cpp/build/build.ninja" || fail "hello_cpp was built without $flag"
done
grep -q -- "-Wl,--no-undefined" "$tmp/hello_c/build/build.ninja" || fail "hello_c was linked without -Wl,--no-undefined"
grep -q -- "-fvisibility=hidden" "$tmp/hello_c/build/build.ninja" || fail "hello_c was built without -fvisibility=hidden"

# --- 6. pkg-config ------------------------------------------------------------
step "pkg-config kiln"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
ok "pkg-config --modversion kiln" pkg-config --modversion kiln
[[ $(tail -n 1 "$last_log") == 1.0.0 ]] || fail "kiln.pc: version is not 1.0.0" "$last_log"
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046
ok "build hello_c with kiln.pc" cc $(pkg-config --cflags kiln) $(pkg-config --variable=plugin_cflags kiln) \
  -o "$tmp/pc/hello_c.so" "$tmp/hello_c/hello_c.c" $(pkg-config --variable=plugin_ldflags kiln)
ok "kilnctl verify the pkg-config build" "$kilnctl" verify "$tmp/pc/hello_c.so"
unset PKG_CONFIG_PATH

# --- 7. the package version ---------------------------------------------------
step "find_package(Kiln 2) against 1.0.0"
mkdir -p "$tmp/wants2"
cat >"$tmp/wants2/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(wants2 LANGUAGES NONE)
find_package(Kiln 2 CONFIG REQUIRED)
EOF
log=$logs/wants2.log
if cmake -S "$tmp/wants2" -B "$tmp/wants2/build" "${cmake_args[@]}" >"$log" 2>&1; then
  fail "find_package(Kiln 2) succeeded against a 1.x install" "$log"
fi
grep -q 'requested version "2"' "$log" || fail "find_package(Kiln 2): no version message" "$log"
grep -q '1\.0\.0' "$log" || fail "find_package(Kiln 2): the message does not name the installed 1.0.0" "$log"
echo "   refused: $(tr -s ' \n' ' ' <"$log" | grep -o 'Could not find a configuration file[^.]*' | head -n 1)"

# --- 8. the installed kilnd --------------------------------------------------
step "installed kilnd runs both plugins"
mkdir -p "$tmp/daemon"
cat >"$tmp/daemon/kiln.toml" <<EOF
[daemon]
plugin_dirs = ["$tmp/hello_cpp/build", "$tmp/hello_c/build"]
state_dir = "state"
workers = 2

[[processor]]
name = "hello_cpp"
plugin = "hello_cpp"
every = "1s"
options = { output_dir = "$tmp/daemon/out", scale = 2 }

[[processor]]
name = "hello_c"
plugin = "hello_c"
every = "1s"
options = { output_dir = "$tmp/daemon/out" }
EOF
ok "kilnd --check-config" "$prefix/bin/kilnd" --check-config --config "$tmp/daemon/kiln.toml"
"$prefix/bin/kilnd" --config "$tmp/daemon/kiln.toml" >"$tmp/daemon/kilnd.log" 2>&1 &
kilnd_pid=$!
socket=$tmp/daemon/state/run/kilnd.sock
succeeded() { "$kilnctl" runs --socket "$socket" --processor "$1" --status succeeded --json 2>/dev/null | grep -c '"status": "succeeded"'; }
workers_seen=
for _ in $(seq 1 150); do  # 30 s
  kill -0 "$kilnd_pid" 2>/dev/null || fail "kilnd exited early" "$tmp/daemon/kilnd.log"
  # Process isolation is the default: the runs happen in the installed kiln-worker.
  for child in $(pgrep -P "$kilnd_pid"); do
    [[ $(readlink "/proc/$child/exe" 2>/dev/null) == "$prefix/bin/kiln-worker" ]] && workers_seen=1
  done
  if (($(succeeded hello_cpp) > 0 && $(succeeded hello_c) > 0)); then
    break
  fi
  sleep 0.2
done
(($(succeeded hello_cpp) > 0)) || fail "no succeeded run of hello_cpp in the ledger within 30 s" "$tmp/daemon/kilnd.log"
(($(succeeded hello_c) > 0)) || fail "no succeeded run of hello_c in the ledger within 30 s" "$tmp/daemon/kilnd.log"
[[ -n $workers_seen ]] || fail "never saw $prefix/bin/kiln-worker as a child of kilnd" "$tmp/daemon/kilnd.log"
today=$(find "$tmp/daemon/out/hello_cpp" -name '*.txt' -printf '%f\n' 2>/dev/null | head -n 1)
[[ -n $today && -s $tmp/daemon/out/hello_c/$today ]] || fail "the daemon's runs wrote no output under $tmp/daemon/out"
echo "   ledger: $(succeeded hello_cpp) succeeded run(s) of hello_cpp, $(succeeded hello_c) of hello_c; output $today"
kill -TERM "$kilnd_pid"
for _ in $(seq 1 100); do
  kill -0 "$kilnd_pid" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$kilnd_pid" 2>/dev/null && fail "kilnd did not stop within 20 s of SIGTERM" "$tmp/daemon/kilnd.log"
wait "$kilnd_pid"
rc=$?
kilnd_pid=
((rc == 0)) || fail "kilnd exited $rc after SIGTERM" "$tmp/daemon/kilnd.log"

step "all passed"
