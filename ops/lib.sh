# Shared by the ops/ scripts: sourced, never run.
set -euo pipefail

HUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HUB_STATE="${HUB_STATE:-$HUB_ROOT/.hub}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The newest installed PostgreSQL server's binaries (Debian keeps them out of PATH).
pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] || die "no PostgreSQL server found; run ops/setup"
  echo "$dir"
}

# Runs a command as the PostgreSQL owner: the 'postgres' user when we are root (PostgreSQL
# refuses to run as root), ourselves otherwise.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then
    # From / : the postgres user may not be allowed into the current folder (a checkout under /root).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}
