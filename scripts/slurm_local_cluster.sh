#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, from Debian's packages, to run run.sub for real:
#
#   bash scripts/slurm_local_cluster.sh start     install munge, slurmctld, slurmd and slurm-client if missing
#                                                 (apt-get, as root), write slurm.conf, start munged,
#                                                 slurmctld and slurmd, wait for the node to be idle
#   bash scripts/slurm_local_cluster.sh stop      stop the three daemons this script started (by their pid files)
#   bash scripts/slurm_local_cluster.sh status    sinfo
#
# Then, from the repository root (Horovod built with MPI: `bash scripts/setup.sh --mpi`):
#   PHASE=1 sbatch -N1 --ntasks-per-node=2 run.sub
#
# The generated /etc/slurm/slurm.conf describes this host alone (its name, `slurmd -C`'s CPUs and memory),
# one partition, no cgroups (proctrack/linuxproc, task/none: containers usually have no writable cgroup tree),
# srun's MPI plugin pmix (Debian's Open MPI is built against the same PMIx 4), finished jobs kept for an hour
# (`scontrol show job` shows their state) and a line per finished job in $SLURM_LOCAL_DIR/jobcomp.log. No
# accounting database: `sacct` has nothing to show. A slurm.conf this script did not write is never
# overwritten. Needs root (the daemons run as root).
#
# Environment: SLURM_LOCAL_DIR (state, spool and logs; default /var/lib/bert-slurm), SLURM_LOCAL_NICE (niceness
# of slurmd, so of every job it starts; default 0, e.g. 19 on a machine shared with other work).
set -euo pipefail
STATE="${SLURM_LOCAL_DIR:-/var/lib/bert-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# Written by scripts/slurm_local_cluster.sh"

die() { echo "slurm_local_cluster.sh: $*" >&2; exit 2; }

install_packages() {
  local missing=() cmd
  for cmd in munged slurmctld slurmd sbatch; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  [ ${#missing[@]} = 0 ] && return 0
  echo "installing munge slurmctld slurmd slurm-client (missing: ${missing[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge slurmctld slurmd \
    slurm-client >/dev/null
}

write_conf() {
  local host node
  host="$(hostname -s)"
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node="$(slurmd -C | head -n 1)"
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; move it away first"
  fi
  mkdir -p "$(dirname "$CONF")" "$STATE/ctld" "$STATE/spool" "$STATE/log"
  cat > "$CONF" <<EOF
$MARK: a one-node cluster on $host.
ClusterName=bert
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
MinJobAge=3600
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
$node State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  echo "wrote $CONF: $node"
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
  if ! munge -n >/dev/null 2>&1; then
    # munged writes /run/munge/munged.pid; a copy in $STATE marks it as started here (for stop).
    su -s /bin/sh munge -c munged 2>/dev/null || munged --force
    cp /run/munge/munged.pid "$STATE/munged.pid"
  fi
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
}

wait_idle() {
  local i state
  for i in $(seq 60); do
    state="$(sinfo -h -N -o %T 2>/dev/null | head -n 1)"
    case "$state" in
      idle|mixed|allocated) echo "node $(hostname -s): $state"; return 0 ;;
    esac
    sleep 1
  done
  die "the node is not idle after 60 s (state '${state:-none}'; logs in $STATE/log)"
}

stop_daemon() {
  local pidfile="$STATE/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then kill "$pid"; echo "stopped $1 ($pid)"; fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    [ "$(id -u)" = 0 ] || die "needs root (apt-get, munge key, daemons running as root)"
    install_packages
    mkdir -p "$STATE"
    write_conf
    start_munge
    pgrep -F "$STATE/slurmctld.pid" >/dev/null 2>&1 || slurmctld
    pgrep -F "$STATE/slurmd.pid" >/dev/null 2>&1 || nice -n "${SLURM_LOCAL_NICE:-0}" slurmd
    wait_idle ;;
  stop)
    stop_daemon slurmd; stop_daemon slurmctld; stop_daemon munged ;;
  status)
    sinfo ;;
  *) die "usage: $0 start|stop|status" ;;
esac
