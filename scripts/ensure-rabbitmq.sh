#!/usr/bin/env bash
# scripts/ensure-rabbitmq.sh: make sure the broker of MOTCUA_AMQP_URL answers; install and start a local one if needed.
set -euo pipefail

url=${MOTCUA_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}
scheme=${url%%://*}
hostport=${url#*://}
hostport=${hostport##*@}
hostport=${hostport%%/*}
if [[ $hostport =~ ^\[(.*)\](:([0-9]+))?$ ]]; then # [ipv6]:port
  host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]}
else
  host=${hostport%%:*} port=
  [[ $hostport == *:* ]] && port=${hostport##*:}
fi
host=${host:-127.0.0.1}
if [[ -z $port ]]; then [[ $scheme == amqps ]] && port=5671 || port=5672; fi

reachable() { timeout 2 bash -c ">/dev/tcp/$host/$port" 2>/dev/null; }

reachable && exit 0

case $host in
  127.0.0.1 | localhost | ::1) ;;
  *) echo "RabbitMQ at $host:$port does not answer, and it is not a local broker this script could start." >&2
     echo "Start it, or point MOTCUA_AMQP_URL at one that runs." >&2
     exit 1 ;;
esac

sudo=
[[ $(id -u) -eq 0 ]] || sudo=sudo

if ! command -v rabbitmq-server >/dev/null && [[ ! -x /usr/sbin/rabbitmq-server ]]; then
  echo "installing rabbitmq-server ..."
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
fi

if ! reachable; then
  echo "starting RabbitMQ ..."
  # The package starts it under systemd; without systemd (containers, CI) start the node by hand.
  if [[ -d /run/systemd/system ]]; then
    $sudo systemctl start rabbitmq-server
  else
    $sudo env PATH="$PATH:/usr/sbin" rabbitmq-server -detached
  fi
fi

for ((i = 0; i < 60; i++)); do
  if reachable; then echo "RabbitMQ is up at $host:$port"; exit 0; fi
  sleep 1
done
echo "RabbitMQ did not open $host:$port within 60 s; see /var/log/rabbitmq/ (or: journalctl -u rabbitmq-server)." >&2
exit 1
