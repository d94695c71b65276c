#!/usr/bin/env bash
# deploy-mutt.sh — install or update MUTT on a RHEL-like host (RHEL/Rocky/Alma 8-9) under systemd.
#
#   sudo ./deploy-mutt.sh --source DIR [--dry-run] [--skip-checks] [--no-start] [--root PREFIX]
#                         [--db-env FILE] [--skip-db]
#
# DIR holds one `dotnet publish` output per service (framework-dependent, linux-x64 or portable):
#   DIR/Mutt.Ingestor/Mutt.Ingestor.dll   DIR/Mutt.Alerter/Mutt.Alerter.dll
#   DIR/Mutt.Forwarder/Mutt.Forwarder.dll DIR/Mutt.Dashboard/Mutt.Dashboard.dll
#   DIR/Mutt.Remediation/Mutt.Remediation.dll
# and, to manage the database, DIR/Mutt.DbManager/Mutt.DbManager.dll
# e.g. for p in Ingestor Alerter Forwarder Dashboard Remediation DbManager; do
#        dotnet publish Mutt.$p -c Release -o out/Mutt.$p; done
#
# Idempotent: every step compares what is there with what should be there and acts only on a
# difference, so a second run with the same inputs changes nothing and restarts nothing.
# /etc/mutt/mutt.env is installed from the template only when it does not exist.
# Database: before any service is (re)started, Mutt.DbManager runs once (migrations, the
# services' least-privilege role DB_USER; a no-op when all is in place) with mutt.env plus the
# admin connection in /etc/mutt/dbmanager.env (root, mode 600; see mutt.env.template). Without
# that file, or without Mutt.DbManager in DIR, the step is skipped and says so. If it fails, the
# deploy stops and no service is (re)started.
#
# --dry-run       print every action that would be taken, change nothing
# --skip-checks   skip the prerequisite checks (runtime, Redis/PostgreSQL reachable)
# --no-start      install and enable, but do not (re)start services
# --root PREFIX   install under PREFIX instead of / (staging, image building, tests). The
#                 `mutt` user is not created and systemctl is not called under a prefix.
# --db-env FILE   the DbManager's admin env file (default /etc/mutt/dbmanager.env)
# --skip-db       do not run Mutt.DbManager (the DBA manages schema and role)
# Units and the env template are taken from the repository next to this script
# (deploy/systemd, deploy/env); --units DIR and --env-template FILE override them.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=""
ROOT=""
DRY_RUN=0
SKIP_CHECKS=0
NO_START=0
SKIP_DB=0
DB_ENV=""
UNITS_DIR="$SCRIPT_DIR/../systemd"
ENV_TEMPLATE="$SCRIPT_DIR/../env/mutt.env.template"
MUTT_USER=mutt

# service unit name -> folder under /opt/mutt -> assembly name
SERVICES=(
  "mutt-ingestor:ingestor:Mutt.Ingestor"
  "mutt-alerter:alerter:Mutt.Alerter"
  "mutt-moog-forwarder:moog-forwarder:Mutt.Forwarder"
  "mutt-webui:webui:Mutt.Dashboard"
  "mutt-remediation:remediation:Mutt.Remediation"
)
TEMPLATE_UNITS=("mutt-alerter@.service")

usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "deploy-mutt: ERROR: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE=${2:?--source needs a folder}; shift 2 ;;
    --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
    --units) UNITS_DIR=${2:?}; shift 2 ;;
    --env-template) ENV_TEMPLATE=${2:?}; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --skip-checks) SKIP_CHECKS=1; shift ;;
    --no-start) NO_START=1; shift ;;
    --db-env) DB_ENV=${2:?--db-env needs a file}; shift 2 ;;
    --skip-db) SKIP_DB=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$SOURCE" ] || die "--source DIR is required (see --help)"
[ -d "$SOURCE" ] || die "source folder not found: $SOURCE"
[ -d "$UNITS_DIR" ] || die "units folder not found: $UNITS_DIR"
[ -f "$ENV_TEMPLATE" ] || die "env template not found: $ENV_TEMPLATE"
ROOT=${ROOT%/}
ON_HOST=1
[ -z "$ROOT" ] || ON_HOST=0

OPT="$ROOT/opt/mutt"
ETC="$ROOT/etc/mutt"
LOGDIR="$ROOT/var/log/mutt"
UNIT_DEST="$ROOT/etc/systemd/system"
DB_ENV=${DB_ENV:-$ETC/dbmanager.env}
# The DbManager is optional in DIR: without it this deploy leaves schema and role alone.
DBMANAGER=Mutt.DbManager
HAVE_DBMANAGER=0
[ ! -f "$SOURCE/$DBMANAGER/$DBMANAGER.dll" ] || HAVE_DBMANAGER=1
CHANGES=0
RESTART=()     # services whose files changed
RELOAD=0

# Every change goes through act(): it prints the action, and runs it unless --dry-run.
act() {
  local description=$1; shift
  CHANGES=$((CHANGES + 1))
  if [ "$DRY_RUN" -eq 1 ]; then
    echo "[dry-run] $description"
  else
    echo "[apply]   $description"
    "$@"
  fi
}

have_user() { id -u "$MUTT_USER" >/dev/null 2>&1; }

owner_of() { stat -c '%U:%G' "$1" 2>/dev/null || echo "-"; }
mode_of() { stat -c '%a' "$1" 2>/dev/null || echo "-"; }

ensure_dir() { # path mode
  local path=$1 mode=$2
  if [ ! -d "$path" ]; then
    act "create directory $path (mode $mode)" install -d -m "$mode" "$path"
  elif [ "$(mode_of "$path")" != "$mode" ]; then
    act "set mode $mode on $path (was $(mode_of "$path"))" chmod "$mode" "$path"
  fi
  ensure_owner "$path"
}

ensure_owner() { # path (non-recursive)
  local path=$1
  # The owner can be set once the user exists; a dry run on a host reports it even before.
  local can_own=0
  if have_user; then can_own=1; elif [ "$DRY_RUN" -eq 1 ] && [ "$ON_HOST" -eq 1 ]; then can_own=1; fi
  if [ "$can_own" -eq 1 ] && [ "$(owner_of "$path")" != "$MUTT_USER:$MUTT_USER" ]; then
    act "chown $MUTT_USER:$MUTT_USER $path" chown "$MUTT_USER:$MUTT_USER" "$path"
  fi
}

install_file() { # src dest mode -> returns 0 when changed
  local src=$1 dest=$2 mode=$3
  if [ ! -f "$dest" ]; then
    act "install $dest (mode $mode)" install -m "$mode" "$src" "$dest"
    return 0
  elif ! cmp -s "$src" "$dest"; then
    act "update $dest (content changed)" install -m "$mode" "$src" "$dest"
    return 0
  elif [ "$(mode_of "$dest")" != "$mode" ]; then
    act "set mode $mode on $dest" chmod "$mode" "$dest"
  fi
  return 1
}

sync_tree() { # src dest -> replace dest atomically when anything differs
  local src=$1 dest=$2
  if [ -d "$dest" ] && diff -rq "$src" "$dest" >/dev/null 2>&1; then
    return 1
  fi
  act "install published output $src -> $dest" replace_tree "$src" "$dest"
  return 0
}

replace_tree() {
  local src=$1 dest=$2
  rm -rf "$dest.new" "$dest.old"
  cp -a "$src" "$dest.new"
  if have_user; then chown -R "$MUTT_USER:$MUTT_USER" "$dest.new"; fi
  [ ! -d "$dest" ] || mv "$dest" "$dest.old"
  mv "$dest.new" "$dest"
  rm -rf "$dest.old"
}

# ---------------------------------------------------------------------------------------------
# 1. Prerequisites
# ---------------------------------------------------------------------------------------------
env_value() { # KEY from the installed env file, else the template
  local file="$ETC/mutt.env"
  [ -r "$file" ] || file=$ENV_TEMPLATE
  sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$file" | tail -n 1
}

tcp_reachable() { timeout 5 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

check_prerequisites() {
  local failed=0
  for c in install cmp diff stat timeout; do
    command -v "$c" >/dev/null 2>&1 || { echo "deploy-mutt: missing command: $c" >&2; failed=1; }
  done
  if [ "$ON_HOST" -eq 1 ] && [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "deploy-mutt: must run as root (or use --dry-run / --root)" >&2; failed=1
  fi
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "deploy-mutt: the .NET runtime is missing: dnf install aspnetcore-runtime-10.0" >&2; failed=1
  elif ! dotnet --list-runtimes 2>/dev/null | grep -q '^Microsoft.AspNetCore.App 10\.'; then
    echo "deploy-mutt: ASP.NET Core runtime 10 not found (dotnet --list-runtimes): dnf install aspnetcore-runtime-10.0" >&2; failed=1
  else
    echo "[check]   ASP.NET Core runtime 10: ok"
  fi
  local rh rp dh dp
  rh=$(env_value REDIS_HOST); rp=$(env_value REDIS_PORT)
  dh=$(env_value DB_HOST); dp=$(env_value DB_PORT)
  if tcp_reachable "${rh:-localhost}" "${rp:-6379}"; then echo "[check]   Redis ${rh:-localhost}:${rp:-6379}: reachable"
  else echo "deploy-mutt: Redis ${rh:-localhost}:${rp:-6379} is not reachable (REDIS_HOST/REDIS_PORT in mutt.env)" >&2; failed=1; fi
  if tcp_reachable "${dh:-localhost}" "${dp:-5432}"; then echo "[check]   PostgreSQL ${dh:-localhost}:${dp:-5432}: reachable"
  else echo "deploy-mutt: PostgreSQL ${dh:-localhost}:${dp:-5432} is not reachable (DB_HOST/DB_PORT in mutt.env)" >&2; failed=1; fi
  [ "$failed" -eq 0 ] || die "prerequisites not met (use --skip-checks to install anyway)"
}

for entry in "${SERVICES[@]}"; do
  IFS=: read -r _unit _dir asm <<<"$entry"
  [ -f "$SOURCE/$asm/$asm.dll" ] || die "missing published output: $SOURCE/$asm/$asm.dll"
done

if [ "$SKIP_CHECKS" -eq 0 ]; then check_prerequisites; fi

# ---------------------------------------------------------------------------------------------
# 2. Service user (system account, no login shell, no home directory contents)
# ---------------------------------------------------------------------------------------------
if [ "$ON_HOST" -eq 1 ]; then
  if ! have_user; then
    act "create system user $MUTT_USER (shell /sbin/nologin, home /opt/mutt)" \
      useradd --system --user-group --shell /sbin/nologin --home-dir /opt/mutt --no-create-home "$MUTT_USER"
  fi
else
  echo "[skip]    user $MUTT_USER: not created under --root"
fi

# ---------------------------------------------------------------------------------------------
# 3. Directories
# ---------------------------------------------------------------------------------------------
ensure_dir "$OPT" 755
ensure_dir "$ETC" 700
ensure_dir "$ETC/certs" 750
ensure_dir "$ETC/secrets" 700
ensure_dir "$LOGDIR" 750
[ -d "$UNIT_DEST" ] || act "create directory $UNIT_DEST" install -d -m 755 "$UNIT_DEST"

# ---------------------------------------------------------------------------------------------
# 4. Application: one folder per service
# ---------------------------------------------------------------------------------------------
for entry in "${SERVICES[@]}"; do
  IFS=: read -r unit dir asm <<<"$entry"
  if sync_tree "$SOURCE/$asm" "$OPT/$dir"; then RESTART+=("$unit"); fi
done
if [ "$HAVE_DBMANAGER" -eq 1 ]; then sync_tree "$SOURCE/$DBMANAGER" "$OPT/dbmanager" || true; fi

# ---------------------------------------------------------------------------------------------
# 5. Environment file: only when missing, never overwritten
# ---------------------------------------------------------------------------------------------
if [ ! -f "$ETC/mutt.env" ]; then
  act "install $ETC/mutt.env from template (mode 600) — edit it before starting" install -m 600 "$ENV_TEMPLATE" "$ETC/mutt.env"
else
  [ "$(mode_of "$ETC/mutt.env")" = 600 ] || act "set mode 600 on $ETC/mutt.env" chmod 600 "$ETC/mutt.env"
fi
[ ! -f "$ETC/mutt.env" ] || ensure_owner "$ETC/mutt.env"

# ---------------------------------------------------------------------------------------------
# 6. Database: Mutt.DbManager once, before any service is (re)started
# ---------------------------------------------------------------------------------------------
# Not counted as an action: it runs on every deploy and itself changes only what differs (a
# second run applies no migration and grants what is already granted). It runs as the mutt user
# through systemd-run, so systemd reads both env files exactly as for the services (no shell
# parsing here) and the admin connection string reaches this one process only.
run_dbmanager() {
  local rc=0
  systemd-run --quiet --wait --pipe --collect --unit=mutt-dbmanager \
    -p User="$MUTT_USER" -p Group="$MUTT_USER" \
    -p WorkingDirectory="$OPT/dbmanager" \
    -p EnvironmentFile="$ETC/mutt.env" -p EnvironmentFile="$DB_ENV" \
    -p Environment=DOTNET_ENVIRONMENT=Production -p Environment=DOTNET_CLI_TELEMETRY_OPTOUT=1 -p Environment=DOTNET_NOLOGO=1 \
    -p NoNewPrivileges=yes -p PrivateTmp=yes \
    "$(command -v dotnet)" "$OPT/dbmanager/$DBMANAGER.dll" || rc=$?
  # Exit codes: 1 a step failed, 2 a variable is missing or invalid, 3 PostgreSQL unreachable within DB_WAIT_SECONDS.
  [ "$rc" -eq 0 ] || die "Mutt.DbManager failed (exit code $rc, its error line is above); no service was (re)started"
}

if [ "$HAVE_DBMANAGER" -eq 0 ]; then
  echo "[skip]    database: no $DBMANAGER in $SOURCE; schema and service role are not managed by this deploy"
elif [ "$SKIP_DB" -eq 1 ]; then
  echo "[skip]    database: --skip-db"
elif [ ! -f "$DB_ENV" ]; then
  echo "[skip]    database: $DB_ENV not found (ConnectionStrings__muttdb-admin; see mutt.env.template)"
else
  # The owner's password is in it: root only (systemd reads it for the DbManager; no service can).
  [ "$(mode_of "$DB_ENV")" = 600 ] || act "set mode 600 on $DB_ENV" chmod 600 "$DB_ENV"
  if [ "$ON_HOST" -eq 1 ] && [ "$(owner_of "$DB_ENV")" != root:root ]; then
    act "chown root:root $DB_ENV" chown root:root "$DB_ENV"
  fi
  if [ "$ON_HOST" -eq 0 ]; then
    echo "[skip]    database: $DBMANAGER is not run under --root"
  elif [ "$DRY_RUN" -eq 1 ]; then
    echo "[db]      would run $OPT/dbmanager/$DBMANAGER.dll once (migrations, role $(env_value DB_USER)) with $ETC/mutt.env and $DB_ENV"
  else
    command -v systemd-run >/dev/null 2>&1 || die "systemd-run is missing: it runs $DBMANAGER (or use --skip-db)"
    echo "[db]      running $DBMANAGER (migrations, role $(env_value DB_USER))"
    run_dbmanager
  fi
fi

# ---------------------------------------------------------------------------------------------
# 7. systemd units
# ---------------------------------------------------------------------------------------------
for entry in "${SERVICES[@]}"; do
  IFS=: read -r unit _dir _asm <<<"$entry"
  if install_file "$UNITS_DIR/$unit.service" "$UNIT_DEST/$unit.service" 644; then
    RELOAD=1
    [[ " ${RESTART[*]} " == *" $unit "* ]] || RESTART+=("$unit")
  fi
done
for template in "${TEMPLATE_UNITS[@]}"; do
  if install_file "$UNITS_DIR/$template" "$UNIT_DEST/$template" 644; then RELOAD=1; fi
done

if [ "$ON_HOST" -eq 1 ]; then
  if [ "$RELOAD" -eq 1 ]; then act "systemctl daemon-reload" systemctl daemon-reload; fi
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r unit _dir _asm <<<"$entry"
    if ! systemctl is-enabled --quiet "$unit.service" 2>/dev/null; then
      act "systemctl enable $unit.service" systemctl enable --quiet "$unit.service"
    fi
    [ "$NO_START" -eq 0 ] || continue
    if [[ " ${RESTART[*]} " == *" $unit "* ]]; then
      act "systemctl restart $unit.service (files changed)" systemctl restart "$unit.service"
    elif ! systemctl is-active --quiet "$unit.service" 2>/dev/null; then
      act "systemctl start $unit.service (not running)" systemctl start "$unit.service"
    fi
  done
  # Template instances (mutt-alerter@<port>) that run already pick up new Alerter binaries.
  if [[ " ${RESTART[*]} " == *" mutt-alerter "* ]] && [ "$NO_START" -eq 0 ]; then
    for instance in $(systemctl list-units --plain --no-legend --state=active 'mutt-alerter@*.service' 2>/dev/null | awk '{print $1}'); do
      act "systemctl restart $instance (Alerter updated)" systemctl restart "$instance"
    done
  fi
else
  [ "$RELOAD" -eq 0 ] || echo "[skip]    systemctl daemon-reload: not called under --root"
  [ "${#RESTART[@]}" -eq 0 ] || echo "[skip]    systemctl enable/restart ${RESTART[*]}: not called under --root"
fi

if [ "$CHANGES" -eq 0 ]; then
  echo "deploy-mutt: nothing to do, everything is up to date"
elif [ "$DRY_RUN" -eq 1 ]; then
  echo "deploy-mutt: $CHANGES action(s) would be taken (dry run, nothing changed)"
else
  echo "deploy-mutt: $CHANGES action(s) taken"
fi
