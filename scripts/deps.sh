#!/usr/bin/env bash
# Everything the tests need beyond Go, in one list, and the one place that
# installs it: `make deps` (and so `make test`, which runs it first).
#
#   scripts/deps.sh            install what is missing (apt-get as root or with
#                              sudo), or name it and fail, before any test runs
#   DEPS_INSTALL=no scripts/deps.sh
#                              only check: name what is missing and fail
#
# On Debian or Ubuntu, as root or with password-less sudo, it says what it
# installs and installs it with apt-get. Anywhere else it prints one message
# naming every missing tool and the package that brings it, and exits 1.
# When nothing is missing it prints nothing and takes well under a second.
#
# Node packages go in NODE_PACKAGES, pinned, and are installed with npm into
# .deps/node/ (git ignores .deps/), never into the user's global folders.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per tool: how to find it | Debian package | which tests need it.
# "how to find it" is a command name looked up in PATH, or an absolute path
# for tools the tests start by path.
TOOLS=(
	"node|nodejs|make jstest, e2ee/pake interop, operator signing examples"
	"openssl|openssl|operator TestSignExamples (the shell signing example)"
	"/usr/bin/chromium|chromium|every browser test (browsertest.ChromiumPath)"
	"/usr/bin/firefox-esr|firefox-esr|Firefox E2EE and PAKE tests (browsertest.FirefoxPath)"
	"espeak-ng|espeak-ng|browser tests: speech for the fake microphone"
	"sox|sox|browser tests: converting and measuring that speech"
	"strace|strace|TestMemoryOnlyBinary: every file the server opens"
	"zbarimg|zbar-tools|termqr TestDecodes: the terminal QR code scans"
	"systemd-analyze|systemd|deploy TestSystemdUnit: systemd-analyze verify"
	"docker-compose|docker-compose|deploy TestCompose, deploy/cluster TestClusterCompose: the compose files against their schema"
	"promtool|prometheus|deploy TestPrometheusRules, TestGrafanaDashboard: rules and PromQL"
	"haproxy|haproxy|deploy/cluster TestHAProxyConfigValid, TestHAProxyRoutesRooms, TestHAProxyReloadKeepsStickTable: haproxy.cfg, checked and run"
)

# Pinned npm packages, "name@version", installed into .deps/node/.
#   puppeteer-core: drives firefox-esr over WebDriver BiDi for the Firefox UI
#   test (browsertest/bidi.go, TestFirefoxApp). The core package never
#   downloads a browser; 24.x is the last line that runs on Debian's Node 20
#   (25.x wants Node 22.12+).
NODE_PACKAGES=("puppeteer-core@24.43.1")
NODE_PREFIX=.deps/node

missing_tools=() # "tool (package): why"
missing_pkgs=()
check() {
	missing_tools=()
	missing_pkgs=()
	local line tool pkg why
	for line in "${TOOLS[@]}"; do
		IFS='|' read -r tool pkg why <<<"$line"
		if [[ $tool == /* ]]; then
			[ -x "$tool" ] && continue
		else
			command -v "$tool" >/dev/null 2>&1 && continue
		fi
		missing_tools+=("$tool ($pkg): $why")
		missing_pkgs+=("$pkg")
	done
}

missing_node=()
check_node() {
	missing_node=()
	local p name
	for p in "${NODE_PACKAGES[@]}"; do
		name=${p%@*}
		[ -f "$NODE_PREFIX/node_modules/$name/package.json" ] ||
			missing_node+=("$p")
	done
}

# say_missing prints the one message: every missing tool, and how to get it.
say_missing() {
	{
		echo "make deps: the tests need tools this machine lacks:"
		local m
		for m in "${missing_tools[@]}"; do echo "  - $m"; done
		for m in "${missing_node[@]}"; do echo "  - npm package $m (into $NODE_PREFIX/)"; done
		if [ ${#missing_pkgs[@]} -gt 0 ]; then
			echo "Install on Debian/Ubuntu: apt-get install -y ${missing_pkgs[*]}"
			echo "(run 'make deps' as root or with sudo and it does this itself; elsewhere use your"
			echo " system's packages: the tool names above are what the tests run)"
		fi
		if [ ${#missing_node[@]} -gt 0 ]; then
			echo "Install the npm packages: npm install --no-save --prefix $NODE_PREFIX ${missing_node[*]}"
		fi
	} >&2
}

check
check_node
[ ${#missing_tools[@]} -eq 0 ] && [ ${#missing_node[@]} -eq 0 ] && exit 0

sudo=()
can_install=no
if [ "${DEPS_INSTALL:-yes}" != no ] && command -v apt-get >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		can_install=yes
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
		can_install=yes
	fi
fi
if [ ${#missing_pkgs[@]} -gt 0 ] && [ $can_install = no ]; then
	say_missing
	exit 1
fi

if [ ${#missing_pkgs[@]} -gt 0 ]; then
	echo "make deps: installing with apt-get: ${missing_pkgs[*]} (a few minutes on a bare machine)" >&2
	export DEBIAN_FRONTEND=noninteractive
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	apt() { # dpkg's progress is hundreds of lines: keep it unless apt fails
		"${sudo[@]}" apt-get "$@" >>"$log" 2>&1 || {
			tail -n 40 "$log" >&2
			echo "make deps: apt-get $* failed (above: the end of its output)" >&2
			exit 1
		}
	}
	apt update -qq
	apt install -y -qq "${missing_pkgs[@]}"
	# nodejs may have just arrived; Debian packages npm on its own.
	if [ ${#NODE_PACKAGES[@]} -gt 0 ] && ! command -v npm >/dev/null 2>&1; then
		apt install -y -qq npm
	fi
fi
if [ ${#missing_node[@]} -gt 0 ]; then
	if [ "${DEPS_INSTALL:-yes}" = no ] || ! command -v npm >/dev/null 2>&1; then
		say_missing
		exit 1
	fi
	echo "make deps: installing npm packages into $NODE_PREFIX/: ${missing_node[*]}" >&2
	mkdir -p "$NODE_PREFIX"
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-save --no-audit --no-fund --prefix "$NODE_PREFIX" "${missing_node[@]}" >&2
fi

# Installed is not the same as found (a PATH that hides /usr/bin, a package
# that names its binary differently): check again and say so if still missing.
check
check_node
if [ ${#missing_tools[@]} -gt 0 ] || [ ${#missing_node[@]} -gt 0 ]; then
	echo "make deps: installed, but still not found (is PATH missing the install folder?)" >&2
	say_missing
	exit 1
fi
