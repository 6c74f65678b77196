#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for tests and for trying the batch scripts:
# munged, slurmctld and slurmd, all as root, state under $GENSAR_SLURM_DIR (default /tmp/gensar-slurm).
#   bash cluster/local_slurm.sh start    # prints the `export SLURM_CONF=...` line clients need
#   bash cluster/local_slurm.sh status
#   bash cluster/local_slurm.sh stop     # slurmctld and slurmd (munged stays: a system daemon)
#   bash cluster/local_slurm.sh running  # exit 0 when this cluster's slurmctld is up
# Tests start it when it is not running and stop it on exit only if they started it, so a test run
# leaves no daemons behind and never stops a cluster somebody else was using.
# Needs the Debian packages slurm-wlm, munge and slurm-wlm-basic-plugins (mpi_pmix), which
# scripts/setup.sh installs. `srun --mpi=pmix -n 2 ./binary` then starts OpenMPI ranks.
set -euo pipefail
DIR="${GENSAR_SLURM_DIR:-/tmp/gensar-slurm}"
CONF="$DIR/slurm.conf"
HOST="$(hostname -s)"

write_conf() {
  mkdir -p "$DIR/ctld" "$DIR/spool" "$DIR/log"
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
  cat > "$CONF" <<CONF
ClusterName=gensar-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
KillWait=5
InactiveLimit=0
MinJobAge=60
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
}

start_munge() {
  if pgrep -x munged >/dev/null; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
  else
    /usr/sbin/munged --force
  fi
}

case "${1:-start}" in
  start)
    write_conf
    start_munge
    export SLURM_CONF="$CONF"
    pgrep -f "slurmctld.*$CONF" >/dev/null || slurmctld -f "$CONF"
    pgrep -f "slurmd.*$CONF" >/dev/null || slurmd -f "$CONF"
    for _ in $(seq 1 60); do
      if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo "export SLURM_CONF=$CONF"
        exit 0
      fi
      sleep 0.5
    done
    echo "local Slurm did not come up; logs in $DIR/log" >&2
    exit 1
    ;;
  status)
    SLURM_CONF="$CONF" sinfo
    ;;
  running)
    pgrep -f "slurmctld.*$CONF" >/dev/null
    ;;
  stop)
    for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid"; do
      [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    # Wait for both to exit: a `start` right after must not find a daemon that is shutting down.
    for _ in $(seq 1 40); do
      pgrep -f "slurm(ctld|d).*$CONF" >/dev/null || exit 0
      sleep 0.25
    done
    pkill -KILL -f "slurm(ctld|d).*$CONF" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|status|stop|running" >&2
    exit 2
    ;;
esac
