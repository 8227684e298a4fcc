/**
 * lvsadm's help and version text (the layout of ipvsadm's usage_exit and
 * version(): synopsis, commands, service forms, options).
 *
 * @module
 */

import { VERSION } from "../version.ts";

/** lvsadm's version (lvsd's). */
export const LVSADM_VERSION = VERSION;
/** The ipvsadm release whose command line lvsadm follows. */
export const IPVSADM_COMPAT = "1.29 (tunnel options of 1.30)";

/** `lvsadm -v`. */
export function versionText(): string {
  return `lvsadm v${LVSADM_VERSION} (ipvsadm ${IPVSADM_COMPAT} command line, for lvsd's admin API)\n`;
}

/** `lvsadm -h`. */
export function usageText(): string {
  return `${versionText()}Usage:
  lvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags] [--mh-table-size N]
  lvsadm -D virtual-service
  lvsadm -C
  lvsadm -R
  lvsadm -S [-n] [--save-thresholds]
  lvsadm -a|e virtual-service -r server-address [options]
  lvsadm -d virtual-service -r server-address
  lvsadm -L|l [virtual-service] [options]
  lvsadm -Z [virtual-service]
  lvsadm --set tcp tcpfin udp
  lvsadm -h

Commands (long or short form):
  --add-service     -A        add a virtual service
  --edit-service    -E        change a virtual service (settings not given go back to their defaults)
  --delete-service  -D        delete a virtual service
  --clear           -C        delete every virtual service
  --restore         -R        apply the commands on stdin, one per line, as one change
  --save            -S        print the table as commands that -R reads
  --add-server      -a        add a real server to a virtual service
  --edit-server     -e        change a real server (settings not given go back to their defaults)
  --delete-server   -d        delete a real server
  --list            -L|-l     list the table
  --zero            -Z        zero the counters of one or every virtual service
  --set tcp tcpfin udp        set the idle timeouts (0 keeps a value)
  --help            -h        this text
  --version         -v        the version

virtual-service:
  --tcp-service|-t  service-address   host[:port]
  --udp-service|-u  service-address   host[:port]
  A service group is written addresses:ports, each a comma-separated list of
  addresses, ranges (a.b.c.d-e.f.g.h, a.b.c.d-h) and CIDRs, and of ports and
  port ranges: -t 10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099

Options:
  --scheduler    -s scheduler   rr wrr lc wlc sed nq fo ovf twos sh dh mh lblc lblcr (default wlc)
  --persistent   -p [timeout]   persistent service (default timeout 360 s)
  --netmask      -M netmask     clients whose addresses agree under netmask share a real server (with -p)
  --sched-flags  -b flags       comma-separated: sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3
  --ops          -o             one-packet scheduling (UDP)
  --mh-table-size N             entries of the mh lookup table (a prime; lvsd only)
  --real-server  -r server-address   host[:port]
  --gatewaying   -g             direct routing (the default)
  --ipip         -i             tunnelling
  --tun-type     ipip|gue       tunnel encapsulation (default ipip)
  --tun-port     port           the real server's GUE port (gue)
  --tun-nocsum                  GUE without UDP checksum (what lvsd sends)
  --masquerading -m             NAT
  --weight       -w weight      0..65535 (default 1; 0 = no new connections)
  --u-threshold  -x uthreshold  upper connection threshold (0 = none)
  --l-threshold  -y lthreshold  lower connection threshold
  --connection   -c             list connections
  --timeout                     list the timeouts (tcp tcpfin udp)
  --stats                       list counters
  --rate                        list rates
  --exact        -X             print numbers in full
  --thresholds                  list thresholds
  --persistent-conn             list persistence templates per server
  --nosort                      list in table order
  --sort                        sort (the default; accepted for compatibility)
  --numeric      -n             addresses and ports as numbers
  --save-thresholds             -S also writes -x and -y (lvsd only; ipvsadm -S drops them)
  --health                      -L adds each dest's health check state: up, down, - (not
                                checked), sorry (the sorry server); lvsd only

Reaching lvsd (anywhere on the line):
  --server URL        lvsd's admin API (default $LVSADM_SERVER, else http://127.0.0.1:9470)
  --token-file FILE   file with the admin token (default $LVSADM_TOKEN itself, else the file
                      $LVSADM_TOKEN_FILE, else /run/lvsd/admin.token)
  --cacert FILE       CA certificate to trust for https (default $LVSADM_CACERT)

Not in lvsd: fwmark services (-f; use a service group), --sctp-service, IPv6, --pe,
--tun-csum, --tun-remcsum, GRE tunnels, the sync daemon (--start-daemon, --stop-daemon).

Exit codes: 0 done; 1 a listing failed, or not supported yet; 2 bad arguments, or lvsd
cannot be reached or refuses the token; 255 lvsd refused the change, or a usage error.
`;
}
