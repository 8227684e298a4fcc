import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  type Config,
  ConfigError,
  configFromObject,
  configToObject,
  configToYaml,
  DEFAULT_TIMEOUTS,
  loadConfig,
  parseConfig,
} from "./mod.ts";

const SRC = "/etc/lvsd.yaml";
const CONFIG_DIR = new URL("../../config/", import.meta.url);

/** A config document as decoded YAML; tests break it in every way. */
// deno-lint-ignore no-explicit-any
type Raw = any;

/** A minimal valid config in file form (snake_case), fresh per call. */
function base(): Raw {
  return {
    interfaces: [{ name: "ext0" }, { name: "int0" }],
    services: [{
      proto: "tcp",
      vip: "10.10.0.100",
      port: 80,
      dests: [{ address: "10.20.0.11" }, { address: "10.20.0.12" }],
    }],
  };
}

/** Parses `doc` and returns the ConfigError it must throw. */
function rejects(doc: unknown): ConfigError {
  const text = typeof doc === "string" ? doc : stringify(doc);
  try {
    parseConfig(text, SRC);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    assert.ok(e.message.startsWith(`Cannot load config "${SRC}"`), e.message);
    return e;
  }
  assert.fail(`accepted:\n${text}`);
}

function assertRejects(
  mutate: (c: Raw) => void,
  fragment: string,
) {
  const c = base();
  mutate(c);
  const e = rejects(c);
  assert.ok(
    e.message.includes(fragment),
    `expected ${JSON.stringify(fragment)} in:\n${e.message}`,
  );
}

Deno.test("defaults are filled in", () => {
  const c = parseConfig(stringify(base()), SRC);
  assert.deepEqual(
    c,
    {
      workers: "auto",
      connTableSize: 262144,
      kernelGuard: "nftables",
      packetIo: "af_packet",
      statusFile: null,
      stateFile: "/var/lib/lvsd/state.yaml",
      admin: { listen: { host: "127.0.0.1", port: 9470 }, tokenFile: "/run/lvsd/admin.token", tls: null },
      timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
      // The kernel's sysctl defaults.
      options: { connReuseMode: 1, expireNodestConn: false, expireQuiescentTemplate: false, sloppyTcp: false },
      syncDaemon: { master: null, backup: null, syncThreshold: [3, 50] },
      interfaces: [{ name: "ext0" }, { name: "int0" }],
      services: [{
        proto: "tcp",
        vip: "10.10.0.100",
        port: 80,
        group: null,
        scheduler: "wlc", // ipvsadm's default
        persistence: null,
        ops: false,
        schedFlags: [],
        mhTableSize: 4093,
        // keepalived's defaults: no checker, quorum 1, no sorry server; no slow start.
        healthCheck: null,
        quorum: 1,
        hysteresis: 0,
        quorumUp: null,
        quorumDown: null,
        sorryServer: null,
        sorryServerInhibit: false,
        slowStart: 0,
        dests: ["10.20.0.11", "10.20.0.12"].map((address) => ({
          address,
          port: 80, // the service port
          forward: "masq",
          tunType: "ipip",
          tunPort: 0,
          weight: 1,
          uThreshold: 0,
          lThreshold: 0,
          notifyUp: null,
          notifyDown: null,
        })),
      }],
      vrrpInstances: [],
    } satisfies Config,
  );
  assert.deepEqual(DEFAULT_TIMEOUTS, { tcp: 900, tcpfin: 120, udp: 300 });
});

Deno.test("admin: listen host:port or off, tls files; bad values named", () => {
  const c = parseConfig(
    "interfaces: [{name: eth1}]\nstate_file: null\nadmin: {listen: '[::1]:8080', token_file: /tmp/t, tls: {cert: /c, key: /k}}\n",
    SRC,
  );
  assert.deepEqual(c.admin, {
    listen: { host: "::1", port: 8080 },
    tokenFile: "/tmp/t",
    tls: { cert: "/c", key: "/k" },
  });
  assert.equal(c.stateFile, null);
  assert.equal(parseConfig("interfaces: [{name: eth1}]\nadmin: {listen: 'off'}\n", SRC).admin.listen, null);
  // Round trip through the object form.
  assert.deepEqual(configFromObject(configToObject(c), SRC), c);
  for (
    const [yaml, msg] of [
      ["admin: {listen: '127.0.0.1'}", 'admin.listen: "127.0.0.1" is not host:port'],
      ["admin: {listen: '127.0.0.1:0'}", "admin.listen"],
      ["admin: {listen: '127.0.0.1:70000'}", "admin.listen"],
      ["admin: {tls: {cert: /c}}", "admin.tls.key: missing (required)"],
      ["admin: {token: x}", "admin.token: unknown key"],
      ["state_file: ''", "state_file: must not be empty"],
    ]
  ) {
    assert.throws(
      () => parseConfig(`interfaces: [{name: eth1}]\n${yaml}\n`, SRC),
      (e: Error) => e.message.includes(msg),
    );
  }
});

Deno.test("partial timeouts keep the other defaults; services may be empty", () => {
  const c = parseConfig(
    "interfaces: [{name: eth1}]\ntimeouts: {udp: 5}\nworkers: 4\n",
    SRC,
  );
  assert.deepEqual(c.timeouts, { tcp: 900, tcpfin: 120, udp: 5 });
  assert.equal(c.workers, 4);
  assert.deepEqual(c.services, []);
});

Deno.test("a service without dests is allowed", () => {
  const c = base();
  c.services[0].dests = [];
  assert.deepEqual(parseConfig(stringify(c), SRC).services[0].dests, []);
  delete c.services[0].dests;
  assert.deepEqual(parseConfig(stringify(c), SRC).services[0].dests, []);
});

Deno.test("round trip: parseConfig(configToYaml(c)) equals c", async () => {
  const tricky: Config = parseConfig(stringify(base()), SRC);
  // Names that YAML would read as other types unless quoted.
  tricky.interfaces = ["yes", "123", "null", "~", "0x1f", "true"].map((
    name,
  ) => ({
    name,
  }));
  tricky.workers = 7;
  tricky.kernelGuard = "off";
  tricky.statusFile = "/run/lvsd/" + "a-very-long-directory-name/".repeat(5) +
    "s.txt";
  tricky.timeouts = { tcp: 1, tcpfin: 2147483, udp: 3 };
  tricky.options = { connReuseMode: 0, expireNodestConn: true, expireQuiescentTemplate: true, sloppyTcp: true };
  tricky.services.push({
    ...tricky.services[0],
    proto: "udp",
    port: 0,
    persistence: { timeout: 30, netmask: "255.255.255.0" },
    ops: true,
    dests: tricky.services[0].dests.map((d) => ({ ...d, port: 0 })),
  });
  tricky.services[0].dests[1] = {
    address: "10.20.0.12",
    port: 80,
    forward: "tunnel",
    tunType: "gue",
    tunPort: 6080,
    weight: 0,
    uThreshold: 0,
    lThreshold: 0,
    notifyUp: "logger up",
    notifyDown: null,
  };
  for (const name of ["demo.yaml", "example.yaml"]) {
    const c = await loadConfig(new URL(name, CONFIG_DIR).pathname);
    assert.deepEqual(parseConfig(configToYaml(c), "rt"), c, name);
  }
  assert.deepEqual(parseConfig(configToYaml(tricky), "rt"), tricky);
});

Deno.test("demo.yaml is the documented demo", async () => {
  const c = await loadConfig(new URL("demo.yaml", CONFIG_DIR).pathname);
  assert.equal(c.workers, "auto");
  assert.deepEqual(c.interfaces.map((i) => i.name), ["ext0", "int0"]);
  const summary = c.services.map((s) =>
    `${s.proto} ${s.vip}:${s.port} ${s.scheduler} ` +
    s.dests.map((d) => `${d.address}:${d.port}/${d.forward}/${d.weight}`).join(
      " ",
    )
  );
  assert.deepEqual(summary, [
    "tcp 10.10.0.100:80 wrr 10.20.0.11:80/masq/1 10.20.0.12:80/masq/2 10.20.0.13:80/masq/3",
    "udp 10.10.0.100:7 rr 10.20.0.11:7/masq/1 10.20.0.12:7/masq/1 10.20.0.13:7/masq/1",
  ]);
});

Deno.test("example.yaml sets every key", async () => {
  const text = await Deno.readTextFile(new URL("example.yaml", CONFIG_DIR));
  const c = parseConfig(text, "example.yaml");
  assert.equal(c.statusFile, "/run/lvsd/status.txt");
  assert.equal(c.services[0].dests[1].port, 80);
  assert.equal(c.services[1].scheduler, "mh");
  assert.equal(c.services[1].mhTableSize, 4093);
  assert.equal(c.services[2].dests[0].port, 5353);
  assert.deepEqual(c.services[3].group, {
    vips: ["10.10.0.101-10.10.0.110", "10.10.1.0/28"],
    ports: [{ from: 80, to: 80 }, { from: 8000, to: 8099 }],
  });
  assert.deepEqual(c.services[3].dests.map((d) => d.port), [0, 0]);
  for (
    const key of [
      "workers",
      "conn_table_size",
      "kernel_guard",
      "status_file",
      "timeouts",
      "tcpfin",
      "options",
      "expire_quiescent_template",
      "conn_reuse_mode",
      "expire_nodest_conn",
      "sloppy_tcp",
      "interfaces",
      "services",
      "proto",
      "vip",
      "vips",
      "ports",
      "scheduler",
      "persistence",
      "ops",
      "sched_flags",
      "mh_table_size",
      "dests",
      "address",
      "forward",
      "weight",
      "u_threshold",
      "l_threshold",
    ]
  ) assert.match(text, new RegExp(`^\\s*${key}:`, "m"), key);
});

// Each rejection: the mutation and the exact "path: reason" it must produce.
const REJECTIONS: Array<[string, (c: Raw) => void, string]> = [
  [
    "dest port out of range",
    (c) => c.services[0].dests[1].port = 99999,
    "services[0].dests[1].port: 99999 is out of range (1..65535)",
  ],
  [
    "dest port 0",
    (c) => c.services[0].dests[0].port = 0,
    "services[0].dests[0].port: 0 is out of range (1..65535)",
  ],
  [
    "service port out of range",
    (c) => c.services[0].port = 65536,
    "services[0].port: 65536 is out of range (1..65535)",
  ],
  [
    "service port 0 without persistence",
    (c) => c.services[0].port = 0,
    "services[0].port: port 0 (any port) is only valid with persistence",
  ],
  [
    "a dest port on a port 0 service",
    (c) => {
      c.services[0].port = 0;
      c.services[0].persistence = {};
      c.services[0].dests[1].port = 80;
    },
    "services[0].dests[1].port: a port 0 service forwards to the port each client asked for; leave the dest port out (or 0)",
  ],
  [
    "port 0 without persistence, reported beside other errors",
    (c) => {
      c.services[0].port = 0;
      c.services[0].scheduler = "fastest";
    },
    "services[0].port: port 0 (any port) is only valid with persistence",
  ],
  [
    "port not an integer",
    (c) => c.services[0].port = 1.5,
    "services[0].port: expected an integer, got 1.5",
  ],
  [
    "port as a string",
    (c) => c.services[0].port = "80",
    'services[0].port: expected an integer, got "80"',
  ],
  [
    "missing vip",
    (c) => delete c.services[0].vip,
    "services[0].vip: missing (required)",
  ],
  [
    "missing interfaces",
    (c) => delete c.interfaces,
    "interfaces: missing (required)",
  ],
  [
    "no interfaces",
    (c) => c.interfaces = [],
    "interfaces: at least one interface is required",
  ],
  [
    "interface name with /",
    (c) => c.interfaces[0].name = "a/b",
    `interfaces[0].name: interface name "a/b" must not contain '/', ':' or whitespace`,
  ],
  [
    "interface name with space",
    (c) => c.interfaces[0].name = "a b",
    `interfaces[0].name: interface name "a b" must not contain`,
  ],
  [
    "interface name too long",
    (c) => c.interfaces[1].name = "abcdefghijklmnop",
    'interfaces[1].name: interface name "abcdefghijklmnop" is longer than 15 bytes',
  ],
  [
    "interface name empty",
    (c) => c.interfaces[1].name = "",
    'interfaces[1].name: interface name "" must not be empty',
  ],
  [
    "interface name ..",
    (c) => c.interfaces[1].name = "..",
    'interfaces[1].name: interface name ".." is not allowed',
  ],
  [
    "interface as a bare string",
    (c) => c.interfaces[0] = "ext0",
    'interfaces[0]: expected a mapping, got "ext0"',
  ],
  [
    "unknown top-level key",
    (c) => c.timeout = {},
    'timeout: unknown key (did you mean "timeouts"?)',
  ],
  [
    "unknown service key",
    (c) => c.services[0].schedular = "rr",
    'services[0].schedular: unknown key (did you mean "scheduler"?)',
  ],
  [
    "camelCase key",
    (c) => c.connTableSize = 1024,
    'connTableSize: unknown key (did you mean "conn_table_size"?)',
  ],
  [
    "unknown dest key",
    (c) => c.services[0].dests[1].color = "red",
    "services[0].dests[1].color: unknown key",
  ],
  [
    "unknown interface key",
    (c) => c.interfaces[0].mtu = 1500,
    "interfaces[0].mtu: unknown key",
  ],
  [
    "unknown timeouts key",
    (c) => c.timeouts = { tcp_fin: 5 },
    'timeouts.tcp_fin: unknown key (did you mean "tcpfin"?)',
  ],
  [
    "timeout 0",
    (c) => c.timeouts = { tcp: 0 },
    "timeouts.tcp: 0 is out of range (1..2147483)",
  ],
  [
    "timeout too big",
    (c) => c.timeouts = { udp: 2147484 },
    "timeouts.udp: 2147484 is out of range (1..2147483)",
  ],
  [
    "workers too many",
    (c) => c.workers = 17,
    "workers: 17 is out of range (1..16)",
  ],
  ["workers 0", (c) => c.workers = 0, "workers: 0 is out of range (1..16)"],
  [
    "workers word",
    (c) => c.workers = "all",
    'workers: expected "auto" or an integer 1..16, got "all"',
  ],
  [
    "conn_table_size not a power of two",
    (c) => c.conn_table_size = 3000,
    "conn_table_size: 3000 is not a power of two",
  ],
  [
    "conn_table_size too small",
    (c) => c.conn_table_size = 512,
    "conn_table_size: 512 is out of range (1024..16777216)",
  ],
  [
    "conn_table_size too big",
    (c) => c.conn_table_size = 2 ** 25,
    "conn_table_size: 33554432 is out of range (1024..16777216)",
  ],
  [
    "kernel_guard",
    (c) => c.kernel_guard = "iptables",
    'kernel_guard: "iptables" is not one of nftables, off',
  ],
  [
    "status_file empty",
    (c) => c.status_file = "",
    "status_file: must not be empty",
  ],
  [
    "status_file a number",
    (c) => c.status_file = 5,
    "status_file: expected a string, got 5",
  ],
  [
    "proto sctp",
    (c) => c.services[0].proto = "sctp",
    'services[0].proto: proto "sctp" is not supported yet (this build has tcp, udp)',
  ],
  [
    "proto fwmark",
    (c) => c.services[0].proto = "fwmark",
    'services[0].proto: proto "fwmark" is not supported yet',
  ],
  [
    "proto unknown",
    (c) => c.services[0].proto = "icmp",
    'services[0].proto: unknown proto "icmp" (valid: tcp, udp)',
  ],
  [
    "scheduler unknown",
    (c) => c.services[0].scheduler = "fastest",
    'services[0].scheduler: unknown scheduler "fastest" (valid: rr, wrr, lc, wlc, sed, nq, fo, ovf, twos, sh, dh, mh, lblc, lblcr)',
  ],
  [
    "vip IPv6",
    (c) => c.services[0].vip = "2001:db8::1",
    'services[0].vip: IPv6 address "2001:db8::1" is not supported yet (this build is IPv4 only)',
  ],
  [
    "vip garbage",
    (c) => c.services[0].vip = "10.0.0.256",
    'services[0].vip: "10.0.0.256" is not an IPv4 address',
  ],
  [
    "vip with leading zero",
    (c) => c.services[0].vip = "10.0.0.010",
    'services[0].vip: "10.0.0.010" is not an IPv4 address',
  ],
  [
    "vip with prefix",
    (c) => c.services[0].vip = "10.0.0.1/32",
    'services[0].vip: "10.0.0.1/32" is not an IPv4 address',
  ],
  [
    "vip multicast",
    (c) => c.services[0].vip = "239.1.1.1",
    "services[0].vip: 239.1.1.1 is a multicast address",
  ],
  [
    "vip loopback",
    (c) => c.services[0].vip = "127.0.0.1",
    "services[0].vip: 127.0.0.1 is a loopback address",
  ],
  [
    "vip 0.0.0.0",
    (c) => c.services[0].vip = "0.0.0.0",
    "services[0].vip: 0.0.0.0 is not a usable address",
  ],
  [
    "dest broadcast",
    (c) => c.services[0].dests[0].address = "255.255.255.255",
    "services[0].dests[0].address: 255.255.255.255 is a reserved/broadcast address",
  ],
  [
    "dest IPv6",
    (c) => c.services[0].dests[0].address = "fd00::2",
    'services[0].dests[0].address: IPv6 address "fd00::2" is not supported yet',
  ],
  [
    "persistence bad netmask",
    (c) => c.services[0].persistence = { netmask: "255.0.255.0" },
    'services[0].persistence.netmask: "255.0.255.0" is not an IPv4 netmask',
  ],
  [
    "persistence bad timeout",
    (c) => c.services[0].persistence = { timeout: 0 },
    "services[0].persistence.timeout: 0 is out of range (1..2147483)",
  ],
  [
    "persistence unknown key",
    (c) => c.services[0].persistence = { mask: "x" },
    "services[0].persistence.mask: unknown key",
  ],
  [
    "ops on a tcp service",
    (c) => c.services[0].ops = true,
    "services[0].ops: ops (one-packet scheduling) is only for udp services, not tcp",
  ],
  [
    "options unknown key",
    (c) => c.options = { expire_quiescent_templates: true },
    'options.expire_quiescent_templates: unknown key (did you mean "expire_quiescent_template"?)',
  ],
  [
    "options value not a boolean",
    (c) => c.options = { expire_quiescent_template: 1 },
    "options.expire_quiescent_template: expected true or false, got 1",
  ],
  [
    "expire_nodest_conn not a boolean",
    (c) => c.options = { expire_nodest_conn: "yes" },
    'options.expire_nodest_conn: expected true or false, got "yes"',
  ],
  [
    "sloppy_tcp not a boolean",
    (c) => c.options = { sloppy_tcp: 1 },
    "options.sloppy_tcp: expected true or false, got 1",
  ],
  [
    "conn_reuse_mode out of range",
    (c) => c.options = { conn_reuse_mode: 4 },
    "options.conn_reuse_mode: 4 is out of range (0 off, 1 TIME_WAIT and CLOSE, 2 or 3 also FIN_WAIT of route/tunnel connections)",
  ],
  [
    "conn_reuse_mode negative",
    (c) => c.options = { conn_reuse_mode: -1 },
    "options.conn_reuse_mode: -1 is out of range (0 off,",
  ],
  [
    "conn_reuse_mode not an integer",
    (c) => c.options = { conn_reuse_mode: "2" },
    'options.conn_reuse_mode: expected an integer 0..3 (0 off, 1 TIME_WAIT and CLOSE, 2 or 3 also FIN_WAIT of route/tunnel connections), got "2"',
  ],
  [
    "conn_reuse_mode a fraction",
    (c) => c.options = { conn_reuse_mode: 1.5 },
    "options.conn_reuse_mode: expected an integer 0..3",
  ],
  [
    "options key misspelt",
    (c) => c.options = { "sloppy-tcp": true },
    'options.sloppy-tcp: unknown key (did you mean "sloppy_tcp"?)',
  ],
  [
    "ops not a boolean",
    (c) => c.services[0].ops = "yes",
    'services[0].ops: expected true or false, got "yes"',
  ],
  [
    "sh flag on a wrr service",
    (c) => c.services[0].sched_flags = ["sh-port"],
    'services[0].sched_flags[0]: "sh-port" applies to the sh scheduler only (this service uses wlc)',
  ],
  [
    "mh flag on an sh service",
    (c) => {
      c.services[0].scheduler = "sh";
      c.services[0].sched_flags = ["sh-fallback", "mh-port"];
    },
    'services[0].sched_flags[1]: "mh-port" applies to the mh scheduler only (this service uses sh)',
  ],
  [
    "sh flag on an mh service",
    (c) => {
      c.services[0].scheduler = "mh";
      c.services[0].sched_flags = ["sh-fallback"];
    },
    'services[0].sched_flags[0]: "sh-fallback" applies to the sh scheduler only (this service uses mh)',
  ],
  [
    "mh_table_size not one of the kernel's primes",
    (c) => {
      c.services[0].scheduler = "mh";
      c.services[0].mh_table_size = 4000;
    },
    "services[0].mh_table_size: 4000 is not a Maglev table size " +
    "(valid: 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071)",
  ],
  [
    "mh_table_size a prime the kernel does not offer",
    (c) => {
      c.services[0].scheduler = "mh";
      c.services[0].mh_table_size = 65537;
    },
    "services[0].mh_table_size: 65537 is not a Maglev table size",
  ],
  [
    "mh_table_size not an integer",
    (c) => {
      c.services[0].scheduler = "mh";
      c.services[0].mh_table_size = "big";
    },
    'services[0].mh_table_size: expected an integer, got "big"',
  ],
  [
    "more mh dests than table entries",
    (c) => {
      c.services[0].scheduler = "mh";
      c.services[0].mh_table_size = 251;
      c.services[0].dests = Array.from({ length: 252 }, (_, i) => ({ address: `10.20.${i >> 8}.${(i & 0xff) + 1}` }));
    },
    "services[0].dests: 252 dests do not fit an mh table of 251 entries (raise mh_table_size)",
  ],
  [
    "mh_table_size with another scheduler",
    (c) => c.services[0].mh_table_size = 251,
    "services[0].mh_table_size: mh_table_size applies to the mh scheduler only (this service uses wlc)",
  ],
  [
    "sched_flags unknown",
    (c) => c.services[0].sched_flags = ["sh-port", "turbo"],
    'services[0].sched_flags[1]: "turbo" is not a scheduler flag (valid: sh-fallback',
  ],
  [
    "forward route with a mapped port",
    (c) => Object.assign(c.services[0].dests[0], { forward: "route", port: 8080 }),
    "services[0].dests[0].port: 8080 differs from the service port 80: only forward masq can map ports (route sends to the service port)",
  ],
  [
    "forward tunnel gue without a port",
    (c) => Object.assign(c.services[0].dests[1], { forward: "tunnel", tun_type: "gue" }),
    "services[0].dests[1].tun_port: is required with tun_type gue (the real server's GUE UDP port)",
  ],
  [
    "tun_port on an ipip tunnel",
    (c) => Object.assign(c.services[0].dests[1], { forward: "tunnel", tun_port: 6080 }),
    "services[0].dests[1].tun_port: only applies to tun_type gue",
  ],
  [
    "tun_type on a masq dest",
    (c) => c.services[0].dests[0].tun_type = "ipip",
    "services[0].dests[0].tun_type: only applies to forward tunnel (this dest is masq)",
  ],
  [
    "tun_type gre",
    (c) => Object.assign(c.services[0].dests[1], { forward: "tunnel", tun_type: "gre" }),
    'services[0].dests[1].tun_type: tunnel type "gre" is not supported yet (this build has ipip, gue)',
  ],
  [
    "forward unknown",
    (c) => c.services[0].dests[0].forward = "nat",
    'services[0].dests[0].forward: unknown forward method "nat" (valid: masq, route, tunnel; did you mean "masq"?)',
  ],
  [
    "weight negative",
    (c) => c.services[0].dests[0].weight = -1,
    "services[0].dests[0].weight: -1 is out of range (0..65535)",
  ],
  [
    "weight too big",
    (c) => c.services[0].dests[0].weight = 65536,
    "services[0].dests[0].weight: 65536 is out of range (0..65535)",
  ],
  [
    "u_threshold above INT_MAX (ipvsadm's limit)",
    (c) => c.services[0].dests[0].u_threshold = 2147483648,
    "services[0].dests[0].u_threshold: 2147483648 is out of range (0..2147483647)",
  ],
  [
    "u_threshold not an integer",
    (c) => c.services[0].dests[0].u_threshold = 1.5,
    "services[0].dests[0].u_threshold: expected an integer, got 1.5",
  ],
  [
    "threshold negative",
    (c) => c.services[0].dests[1].l_threshold = -1,
    "services[0].dests[1].l_threshold: -1 is out of range (0..2147483647)",
  ],
  [
    "services not a list",
    (c) => c.services = { proto: "tcp" },
    "services: expected a list, got a mapping",
  ],
  [
    "duplicate service",
    (c) => c.services.push(structuredClone(c.services[0])),
    "services[1]: duplicate of services[0] (tcp 10.10.0.100:80)",
  ],
  [
    "group: vip and vips both",
    (c) => c.services[0].vips = ["10.10.0.101"],
    "services[0].vips: give either vip (one address) or vips (a list), not both",
  ],
  [
    "group: port and ports both",
    (c) => c.services[0].ports = [443],
    "services[0].ports: give either port (one port) or ports (a list), not both",
  ],
  [
    "group: neither port nor ports",
    (c) => delete c.services[0].port,
    "services[0].port: missing (required): give port, or ports (a list) for a service group",
  ],
  [
    "group: empty vips",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = [];
    },
    "services[0].vips: must not be empty (a service group needs at least one member)",
  ],
  [
    "group: empty ports",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = [];
    },
    "services[0].ports: must not be empty (a service group needs at least one member)",
  ],
  [
    "group: inverted VIP range",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["10.10.0.120-10.10.0.110"];
    },
    "services[0].vips[0]: 10.10.0.120-10.10.0.110 is an inverted range (it ends before it starts)",
  ],
  [
    "group: inverted last-octet range",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["10.10.0.120-110"];
    },
    "services[0].vips[0]: 10.10.0.120-110 is an inverted range (it ends before it starts)",
  ],
  [
    "group: CIDR with host bits",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["10.10.0.100/28"];
    },
    "services[0].vips[0]: 10.10.0.100/28 has host bits set (the network is 10.10.0.96/28)",
  ],
  [
    "group: a range reaching into loopback",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["126.255.255.250-127.0.0.3"];
    },
    "services[0].vips[0]: 126.255.255.250-127.0.0.3 includes 127.0.0.0, a loopback address",
  ],
  [
    "group: a VIP member that is no address",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["10.10.0.1-10.10.0"];
    },
    'services[0].vips[0]: "10.10.0.1-10.10.0" is not an IPv4 address, range (a.b.c.d-e.f.g.h or a.b.c.d-h) or CIDR (a.b.c.d/n)',
  ],
  [
    "group: a range in vip",
    (c) => c.services[0].vip = "10.10.0.100-10.10.0.110",
    '"10.10.0.100-10.10.0.110" is not an IPv4 address (ranges and CIDRs go in vips, a list)',
  ],
  [
    "group: overlapping VIP members",
    (c) => {
      delete c.services[0].vip;
      c.services[0].vips = ["10.10.0.96/28", "10.10.0.100"];
    },
    "services[0].vips[1]: overlaps vips[0] (10.10.0.100 is in both)",
  ],
  [
    "group: port 0 inside ports",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = [80, 0];
    },
    "services[0].ports[1]: port 0 (any port) cannot be a member of ports; use port: 0 instead",
  ],
  [
    "group: inverted port range",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = ["8099-8000"];
    },
    "services[0].ports[0]: 8099-8000 is an inverted range (it ends before it starts)",
  ],
  [
    "group: port range out of range",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = ["65000-65536"];
    },
    "services[0].ports[0]: 65000-65536: 65536 is out of range (1..65535)",
  ],
  [
    "group: a port member that is no port",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = ["http"];
    },
    'services[0].ports[0]: expected a port or a "from-to" range, got "http"',
  ],
  [
    "group: overlapping port members",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = ["8000-8099", 443, "8050-8200"];
    },
    "services[0].ports[2]: overlaps ports[0] (port 8050 is in both)",
  ],
  [
    "group: a member shared with another service",
    (c) => {
      c.services.push({ proto: "tcp", vips: ["10.10.0.96/27"], port: 80, dests: [] });
    },
    "services[1]: overlaps services[0] (both have tcp 10.10.0.100:80)",
  ],
  [
    "group: two port ranges of one VIP overlap across services",
    (c) => {
      c.services[0].ports = ["8000-8099"];
      delete c.services[0].port;
      c.services[0].dests = [];
      c.services.push({ proto: "tcp", vips: ["10.10.0.100-101"], ports: ["8090-8100"], dests: [] });
    },
    "services[1]: overlaps services[0] (both have tcp 10.10.0.100:8090)",
  ],
  [
    "group: two any-port groups share a VIP",
    (c) => {
      c.services[0].port = 0;
      c.services[0].persistence = {};
      c.services[0].dests = [];
      c.services.push({ proto: "tcp", vips: ["10.10.0.99-10.10.0.100"], port: 0, persistence: {}, dests: [] });
    },
    "services[1]: overlaps services[0] (both have tcp 10.10.0.100:0)",
  ],
  [
    "group: more table records than the layout holds",
    (c) => {
      delete c.services[0].vip;
      delete c.services[0].port;
      c.services[0].vips = ["10.10.0.0/22"]; // 1024 addresses
      c.services[0].ports = [80, 443, 8080, 8443, "9000-9099"]; // 5 port members
      c.services[0].dests = [];
    },
    "services[0].vips: needs 5120 table records (1024 addresses × 5 port members): a director holds at most 4096",
  ],
  [
    "group: records summed over services",
    (c) => {
      c.services.push({ proto: "udp", vips: ["10.11.0.0/20"], port: 53, dests: [] });
    },
    "services[1].vips: needs 4096 table records (4096 addresses × 1 port member), and the services before it take 1: a director holds at most 4096",
  ],
  [
    "group: a dest port with several ports",
    (c) => {
      delete c.services[0].port;
      c.services[0].ports = [80, 8080];
      c.services[0].dests[1].port = 80;
    },
    "services[0].dests[1].port: a service group of several ports forwards to the port each client asked for; leave the dest port out (or 0)",
  ],
  [
    "group: a route dest on another port than the group's one port",
    (c) => {
      delete c.services[0].port;
      c.services[0].vips = ["10.10.0.101"];
      delete c.services[0].vip;
      c.services[0].ports = [443];
      c.services[0].dests[0] = { address: "10.20.0.11", port: 8443, forward: "route" };
    },
    "services[0].dests[0].port: 8443 differs from the service port 443: only forward masq can map ports (route sends to the service port)",
  ],
  [
    "duplicate dest",
    (c) => c.services[0].dests.push({ address: "10.20.0.11", port: 80 }),
    "services[0].dests[2]: duplicate of services[0].dests[0] (10.20.0.11:80)",
  ],
  [
    "duplicate interface",
    (c) => c.interfaces.push({ name: "ext0" }),
    'interfaces[2].name: duplicate of interfaces[0] ("ext0")',
  ],
];

for (const [name, mutate, fragment] of REJECTIONS) {
  Deno.test(`rejects: ${name}`, () => assertRejects(mutate, fragment));
}

Deno.test("every built scheduler is accepted by name", () => {
  for (const name of ["rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "twos", "sh", "dh", "mh", "lblc", "lblcr"]) {
    const c = base();
    c.services[0].scheduler = name;
    assert.equal(parseConfig(stringify(c), SRC).services[0].scheduler, name);
  }
});

Deno.test("connection thresholds are accepted over ipvsadm's whole range", () => {
  const c = base();
  c.services[0].dests[0].u_threshold = 100;
  c.services[0].dests[0].l_threshold = 50;
  // Only an upper one (the lower then defaults to 3/4 of it in the data
  // plane), and the largest ipvsadm takes.
  c.services[0].dests[1].u_threshold = 2147483647;
  const dests = parseConfig(stringify(c), SRC).services[0].dests;
  assert.deepEqual(dests.map((d) => [d.uThreshold, d.lThreshold]), [[100, 50], [2147483647, 0]]);
  // ipvsadm and the kernel do not require l < u; neither does lvsd.
  c.services[0].dests[0].l_threshold = 200;
  assert.equal(parseConfig(stringify(c), SRC).services[0].dests[0].lThreshold, 200);
});

Deno.test("scheduler flags: sh-* with sh, mh-* with mh, flag-1..3 with any scheduler", () => {
  const accepted: Array<[string, string[]]> = [
    ["sh", ["sh-fallback", "sh-port"]],
    ["mh", ["mh-fallback", "mh-port"]],
    ["sh", ["flag-1", "flag-2"]],
    ["wrr", ["flag-1", "flag-2", "flag-3"]],
    ["lblc", ["flag-3"]],
  ];
  for (const [scheduler, flags] of accepted) {
    const c = base();
    c.services[0].scheduler = scheduler;
    c.services[0].sched_flags = flags;
    const s = parseConfig(stringify(c), SRC).services[0];
    assert.equal(s.scheduler, scheduler);
    assert.deepEqual(s.schedFlags, flags);
  }
});

Deno.test("mh_table_size: default 4093, any of the kernel's primes, and it survives a round trip", () => {
  const c = base();
  c.services[0].scheduler = "mh";
  assert.equal(parseConfig(stringify(c), SRC).services[0].mhTableSize, 4093);
  for (const size of [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071]) {
    c.services[0].mh_table_size = size;
    const parsed = parseConfig(stringify(c), SRC);
    assert.equal(parsed.services[0].mhTableSize, size);
    assert.deepEqual(parseConfig(configToYaml(parsed), "rt"), parsed);
  }
  // Not written out for other schedulers (where it would be rejected).
  const other = parseConfig(stringify(base()), SRC);
  assert.doesNotMatch(configToYaml(other), /mh_table_size/);
});

Deno.test("persistence, port 0 and ops are accepted where IPVS takes them", () => {
  const c = base();
  c.services[0].persistence = {};
  c.services.push({
    proto: "udp",
    vip: "10.10.0.100",
    port: 0,
    persistence: { timeout: 60, netmask: "255.255.255.0" },
    ops: true,
    dests: [{ address: "10.20.0.11" }],
  });
  c.options = { expire_quiescent_template: true };
  const parsed = parseConfig(stringify(c), SRC);
  assert.deepEqual(parsed.services[0].persistence, { timeout: 360, netmask: "255.255.255.255" });
  assert.deepEqual(parsed.services[1].persistence, { timeout: 60, netmask: "255.255.255.0" });
  assert.equal(parsed.services[1].ops, true);
  assert.equal(parsed.services[1].dests[0].port, 0, "a port-0 service's dests take the client's port");
  c.services[1].dests[0].port = 0; // as ipvsadm lists it
  assert.equal(parseConfig(stringify(c), SRC).services[1].dests[0].port, 0);
  assert.deepEqual(parsed.options, {
    connReuseMode: 1,
    expireNodestConn: false,
    expireQuiescentTemplate: true,
    sloppyTcp: false,
  });
});

Deno.test("options take every conn_reuse_mode 0..3 and the booleans; unset ones keep the kernel's defaults", () => {
  for (const mode of [0, 1, 2, 3]) {
    const c = base();
    c.options = { conn_reuse_mode: mode };
    assert.equal(parseConfig(stringify(c), SRC).options.connReuseMode, mode);
  }
  const c = base();
  c.options = { expire_nodest_conn: true, sloppy_tcp: true };
  assert.deepEqual(parseConfig(stringify(c), SRC).options, {
    connReuseMode: 1,
    expireNodestConn: true,
    expireQuiescentTemplate: false,
    sloppyTcp: true,
  });
});

Deno.test("service groups: vips and ports members are normalised; defaults follow the ports", () => {
  const c = base();
  c.services = [
    {
      proto: "tcp",
      vips: ["10.10.0.101-110", "10.10.1.0/28", "10.10.2.5", "10.10.3.1-10.10.3.4", "10.10.4.7/32"],
      ports: [80, "8000-8099", "443-443"],
      persistence: {},
      dests: [{ address: "10.20.0.11" }, { address: "10.20.0.12", port: 0 }],
    },
    { proto: "tcp", vips: ["10.10.0.111-10.10.0.113"], port: 443, dests: [{ address: "10.20.0.11", port: 8443 }] },
    { proto: "udp", vip: "10.10.0.101", ports: ["5000-5009"], dests: [{ address: "10.20.0.13" }] },
    { proto: "udp", vips: ["10.10.0.101-10.10.0.102"], port: 0, persistence: {}, dests: [{ address: "10.20.0.13" }] },
  ];
  const [g, oneport, range, anyport] = parseConfig(stringify(c), SRC).services;
  assert.equal(g.vip, "10.10.0.101", "the first address stands for the group");
  assert.equal(g.port, 80);
  assert.deepEqual(g.group, {
    vips: ["10.10.0.101-10.10.0.110", "10.10.1.0/28", "10.10.2.5", "10.10.3.1-10.10.3.4", "10.10.4.7"],
    ports: [{ from: 80, to: 80 }, { from: 8000, to: 8099 }, { from: 443, to: 443 }],
  });
  assert.deepEqual(g.dests.map((d) => d.port), [0, 0], "several ports: a dest takes the client's port");
  assert.deepEqual(oneport.group, { vips: ["10.10.0.111-10.10.0.113"], ports: [{ from: 443, to: 443 }] });
  assert.equal(oneport.dests[0].port, 8443, "one port: masq maps it as for an ordinary service");
  assert.deepEqual(range.group, { vips: ["10.10.0.101"], ports: [{ from: 5000, to: 5009 }] });
  assert.equal(range.dests[0].port, 0);
  assert.deepEqual(anyport.group, { vips: ["10.10.0.101-10.10.0.102"], ports: [{ from: 0, to: 0 }] });
  assert.equal(anyport.port, 0);
  const again = parseConfig(configToYaml(parseConfig(stringify(c), SRC)), "rt");
  assert.deepEqual(again, parseConfig(stringify(c), SRC), "round trip");
});

Deno.test("service groups: one address and one port written as lists is an ordinary service", () => {
  const c = base();
  delete c.services[0].vip;
  delete c.services[0].port;
  c.services[0].vips = ["10.10.0.100/32"];
  c.services[0].ports = ["80-80"];
  assert.deepEqual(parseConfig(stringify(c), SRC), parseConfig(stringify(base()), SRC));
  assert.match(configToYaml(parseConfig(stringify(c), SRC)), /^ {4}vip: 10\.10\.0\.100\n {4}port: 80$/m);
});

Deno.test("service groups: a more specific member may share a VIP (exact port > port range > port 0)", () => {
  const c = base(); // tcp 10.10.0.100:80
  c.services.push(
    { proto: "tcp", vips: ["10.10.0.96/28"], ports: ["1-1024"], dests: [] },
    { proto: "tcp", vips: ["10.10.0.100-10.10.0.101"], port: 0, persistence: {}, dests: [] },
    { proto: "udp", vips: ["10.10.0.96/28"], ports: ["1-1024"], dests: [] },
  );
  assert.equal(parseConfig(stringify(c), SRC).services.length, 4);
});

Deno.test("service groups: the layout's record count is the config's limit", () => {
  const c = base();
  delete c.services[0].vip;
  c.services[0].vips = ["10.10.0.0/20"]; // 4096 addresses × 1 port: exactly full
  assert.equal(parseConfig(stringify(c), SRC).services[0].group?.vips[0], "10.10.0.0/20");
});

Deno.test("same vip and port with another proto is not a duplicate", () => {
  const c = base();
  c.services.push({ ...structuredClone(c.services[0]), proto: "udp" });
  c.services[0].dests.push({ address: "10.20.0.11", port: 8080 });
  assert.equal(parseConfig(stringify(c), SRC).services.length, 2);
});

Deno.test("all errors are reported, one per line, in document order", () => {
  const c: Raw = { workers: 100, ...base() };
  c.services.push({ ...structuredClone(c.services[0]), scheduler: "rr" });
  c.services[0].dests[1].port = 99999;
  c.services[0].scheduler = "fastest"; // a new key: emitted after dests
  const e = rejects(c);
  assert.equal(
    e.message,
    `Cannot load config "${SRC}": 4 errors\n` +
      "  workers: 100 is out of range (1..16)\n" +
      "  services[0].dests[1].port: 99999 is out of range (1..65535)\n" +
      '  services[0].scheduler: unknown scheduler "fastest" (valid: rr, wrr, lc, wlc, sed, nq, fo, ovf, twos, sh, dh, mh, lblc, lblcr)\n' +
      "  services[1]: duplicate of services[0] (tcp 10.10.0.100:80)",
  );
  assert.equal(e.issues.length, 4);
  assert.deepEqual(e.issues[0], {
    path: "workers",
    message: "100 is out of range (1..16)",
    line: 1,
  });
  assert.equal(e.source, SRC);
});

Deno.test("a single error is one line", () => {
  const c = base();
  c.services[0].dests[1].port = 99999;
  assert.equal(
    rejects(c).message,
    `Cannot load config "${SRC}": services[0].dests[1].port: 99999 is out of range (1..65535)`,
  );
});

Deno.test("YAML syntax errors name line and column", () => {
  const e = rejects("interfaces:\n  - name: ext0\nservices: [\n");
  assert.match(
    e.message,
    /^Cannot load config "\/etc\/lvsd.yaml": line 4, column 1: /,
  );
  assert.equal(e.issues[0].line, 4);
  const dup = rejects("interfaces: []\nworkers: 1\nworkers: 2\n");
  assert.match(dup.message, /line 3, column 1: Map keys must be unique/);
  const indent = rejects("interfaces:\n  - name: ext0\n   bad: 1\n");
  assert.match(indent.message, /line 3, column \d+: /);
});

Deno.test("empty file, wrong top level, unresolved alias", () => {
  assert.match(rejects("").message, /: the file is empty/);
  assert.match(rejects("# only a comment\n").message, /: the file is empty/);
  assert.match(
    rejects("- a\n- b\n").message,
    /"\/etc\/lvsd.yaml": expected a mapping, got a list$/,
  );
  assert.match(
    rejects("interfaces: *nope\n").message,
    /Cannot load config .*alias/i,
  );
});

Deno.test("loadConfig names the file when it cannot be read", async () => {
  await assert.rejects(
    loadConfig("/nonexistent/lvsd.yaml"),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message ===
        'Cannot load config "/nonexistent/lvsd.yaml": file not found',
  );
});

Deno.test("configFromObject validates decoded objects (e.g. JSON)", () => {
  const c = configFromObject(base(), "api");
  assert.equal(c.services[0].scheduler, "wlc");
  assert.throws(
    () => configFromObject({ interfaces: [{ name: "x", up: true }] }, "api"),
    /Cannot load config "api": interfaces\[0\].up: unknown key/,
  );
});

Deno.test("mh tables that do not fit lvsd's lookup-table area together are refused by the config", () => {
  const c = base();
  c.services = Array.from({ length: 9 }, (_, i) => ({
    proto: "tcp",
    vip: "10.10.0.100",
    port: 1000 + i,
    scheduler: "mh",
    mh_table_size: 131071,
    dests: [{ address: "10.20.0.11" }],
  }));
  const e = rejects(c);
  assert.match(e.message, /services: the mh\/sh\/dh lookup tables need 1179639 entries in all, more than the 1048576/);
  c.services.pop();
  assert.equal(parseConfig(stringify(c), SRC).services.length, 8);
});

Deno.test("health keys: a checker, quorum, sorry server, slow start, hooks; round trip; errors named", () => {
  const yaml = `interfaces: [{name: eth1}]
services:
  - proto: tcp
    vip: 10.0.0.1
    port: 80
    health_check: { kind: http, path: /health, status_code: "200-299", delay_loop: 2, retry: 2 }
    quorum: 2
    hysteresis: 1
    quorum_down: "logger quorum lost"
    sorry_server: { address: 10.30.0.1 }
    slow_start: 30
    dests:
      - { address: 10.20.0.1, notify_down: "logger rs1 down" }
      - { address: 10.20.0.2 }
`;
  const c = parseConfig(yaml, SRC);
  const s = c.services[0];
  assert.deepEqual(s.healthCheck, { kind: "http", path: "/health", status_code: "200-299", delay_loop: 2, retry: 2 });
  assert.deepEqual([s.quorum, s.hysteresis, s.quorumUp, s.quorumDown, s.slowStart], [
    2,
    1,
    null,
    "logger quorum lost",
    30,
  ]);
  assert.deepEqual([s.sorryServer?.address, s.sorryServer?.port, s.sorryServer?.forward], ["10.30.0.1", 80, "masq"]);
  assert.equal(s.dests[0].notifyDown, "logger rs1 down");
  assert.deepEqual(configFromObject(configToObject(c), SRC), c);
  // A service without any of them writes none of them.
  assert.equal("quorum" in (configToObject(parseConfig(base0(), SRC)).services as object[])[0], false);
  for (
    const [svc, msg] of [
      ["health_check: { kind: ping }", "services[0].health_check.kind"],
      ["health_check: { kind: tcp, delay_loop: -1 }", "services[0].health_check.delay_loop"],
      ["health_check: { kind: tcp, bogus: 1 }", "services[0].health_check.bogus"],
      ["quorum: -1", "services[0].quorum: -1 is out of range"],
      ["sorry_server: { port: 80 }", "services[0].sorry_server.address: missing (required)"],
      ["slow_start: 100000", "services[0].slow_start: 100000 is out of range (0..86400)"],
    ]
  ) {
    assert.throws(
      () =>
        parseConfig(
          `interfaces: [{name: eth1}]\nservices:\n  - { proto: tcp, vip: 10.0.0.1, port: 80, ${svc} }\n`,
          SRC,
        ),
      (e: Error) => e.message.includes(msg),
      `${svc} → ${msg}`,
    );
  }
});

function base0(): string {
  return "interfaces: [{name: eth1}]\nservices: [{ proto: tcp, vip: 10.0.0.1, port: 80 }]\n";
}
