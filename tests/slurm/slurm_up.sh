#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this machine for the workflow tests (tests/slurm/README.md).
#
# As root on Debian: installs munge, slurmctld, slurmd, slurm-client, slurmdbd and MariaDB when
# missing, writes /etc/slurm/slurm.conf and slurmdbd.conf for the local host, and starts munged,
# a private MariaDB (datadir under $VIBANK_SLURM_DIR, TCP on 127.0.0.1 only), slurmdbd, slurmctld
# and slurmd. The PIDs it started go to $VIBANK_SLURM_DIR/pids; slurm_down.sh stops those and
# nothing else. Running it again while the cluster is up does nothing.
#
# slurmdbd is there because snakemake-executor-plugin-slurm checks job status with sacct (and
# validates slurm_account with sacctmgr), which needs accounting; a real cluster has it too.
set -euo pipefail

DIR=${VIBANK_SLURM_DIR:-/var/lib/vibank-slurm}
DB_PORT=${VIBANK_SLURM_DB_PORT:-3306}
MEM_MB=${VIBANK_SLURM_MEM_MB:-20000}
CLUSTER=vibank
PARTITION=debug
MARK="# written by vibank tests/slurm/slurm_up.sh"
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)

die() { echo "slurm_up: error: $*" >&2; exit 1; }
say() { echo "slurm_up: $*"; }

# wait_for SECONDS WHAT COMMAND...: retry COMMAND every 0.1 s until it succeeds
wait_for() {
  local limit=$1 what=$2
  shift 2
  local tries=$((limit * 10)) name pid
  until "$@" >/dev/null 2>&1; do
    while read -r name pid; do
      alive "$pid" || die "$name (PID $pid) died: see $DIR/log/$name.out and $DIR/log/$name.log"
    done <"$DIR/pids"
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "$what did not come up within ${limit}s (logs: $DIR/log/)"
    sleep 0.1
  done
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# start NAME COMMAND...: run a daemon in the foreground of its own session, record its PID
start() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  local pid=$!
  echo "$name $pid" >>"$DIR/pids"
  sleep 0.05
  alive "$pid" || die "$name exited at once: see $DIR/log/$name.out"
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
command -v apt-get >/dev/null || die "needs Debian's apt-get to install slurm-wlm and munge"

# -- already up? ---------------------------------------------------------------------------
if [ -s "$DIR/pids" ]; then
  all_alive=1
  while read -r name pid; do alive "$pid" || all_alive=0; done <"$DIR/pids"
  if [ "$all_alive" = 1 ] && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    say "already up (PIDs in $DIR/pids)"
    exit 0
  fi
  say "a previous cluster is half up: stopping it first"
  "$(dirname "$0")/slurm_down.sh"
fi

# -- packages --------------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  # a policy-rc.d that says no keeps the packages from starting services: this script starts them
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/vibank-slurm-apt.log 2>&1 ||
    status=$?
  [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "${status:-0}" = 0 ] || die "apt-get install ${missing[*]} failed: see /tmp/vibank-slurm-apt.log"
fi

# -- refuse to fight daemons this script did not start --------------------------------------
for daemon in slurmctld slurmd slurmdbd; do
  if pgrep -x "$daemon" >/dev/null; then
    die "$daemon is already running (PID $(pgrep -x "$daemon" | head -1)) but was not started" \
      "by this script: stop it, or use that cluster directly"
  fi
done
for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
  if [ -e "$conf" ] && ! head -1 "$conf" | grep -qF "$MARK"; then
    die "$conf exists and was not written by this script: refusing to overwrite it"
  fi
done
if (exec 3<>"/dev/tcp/127.0.0.1/$DB_PORT") 2>/dev/null; then
  die "port $DB_PORT on 127.0.0.1 is taken: set VIBANK_SLURM_DB_PORT to a free port"
fi

mkdir -p "$DIR"/{log,ctld,slurmd} /run/munge /var/log/munge /var/lib/munge
: >"$DIR/pids"
# on failure, stop whatever this run started
trap '[ $? -eq 0 ] || "$(dirname "$0")/slurm_down.sh" >&2' EXIT
chown munge:munge /run/munge /var/log/munge /var/lib/munge

# -- munge -----------------------------------------------------------------------------------
[ -s /etc/munge/munge.key ] || setpriv --reuid=munge --regid=munge --init-groups mungekey --create
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running: using it"
else
  start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
  wait_for 10 munged sh -c 'munge -n | unmunge'
fi

# -- MariaDB for slurmdbd ----------------------------------------------------------------------
if [ ! -d "$DIR/mysql/mysql" ]; then
  mkdir -p "$DIR/mysql"
  chown mysql:mysql "$DIR/mysql"
  mariadb-install-db --datadir="$DIR/mysql" --user=mysql --skip-test-db \
    --auth-root-authentication-method=socket >"$DIR/log/mariadb-install.out" 2>&1 ||
    die "mariadb-install-db failed: see $DIR/log/mariadb-install.out"
fi
DB_SOCKET="$DIR/mysql/mysqld.sock"
start mariadbd /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DIR/mysql" \
  --socket="$DB_SOCKET" --bind-address=127.0.0.1 --port="$DB_PORT" \
  --pid-file="$DIR/mysql/mariadbd.pid" \
  --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --skip-log-bin
wait_for 30 MariaDB mariadb-admin --socket="$DB_SOCKET" ping
DB_PASS=$(cat "$DIR/db.pass" 2>/dev/null || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$DB_PASS" >"$DIR/db.pass"
chmod 600 "$DIR/db.pass"
mariadb --socket="$DB_SOCKET" -e "
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
  ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
  die "could not create the slurm database user"

# -- SLURM configuration ---------------------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc)
TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
[ "$MEM_MB" -le $((TOTAL_MB * 9 / 10)) ] || MEM_MB=$((TOTAL_MB * 9 / 10))
cat >/etc/slurm/slurmdbd.conf <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
chmod 600 /etc/slurm/slurmdbd.conf
# no cgroup.conf: proctrack/linuxproc and task/none need none (CgroupPlugin=disabled kills
# slurmd 22.05); EnforcePartLimits rejects requests the node can never satisfy
cat >/etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=300
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/slurmd
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# -- daemons ---------------------------------------------------------------------------------
start slurmdbd /usr/sbin/slurmdbd -D
wait_for 30 slurmdbd sacctmgr -n list cluster
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
  sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
fi
# without -c: slurmctld keeps its job-ID counter, so sacct never sees a reused job ID
start slurmctld /usr/sbin/slurmctld -D
wait_for 30 slurmctld sh -c 'scontrol ping | grep -q UP'
start slurmd /usr/sbin/slurmd -D
wait_for 30 slurmd sh -c "sinfo -h -n $HOST -o %T | grep -qE '^(idle|mixed|allocated)'"
say "up: node $HOST ($CPUS CPUs, $MEM_MB MB), partition $PARTITION, account root;" \
  "PIDs in $DIR/pids, logs in $DIR/log"
