import assert from "node:assert/strict";
import {
  addressOf,
  AF_INET,
  close,
  errno,
  errnoMessage,
  errnoName,
  getpid,
  getsockoptInt,
  ifNameToIndex,
  LibcError,
  pointerAt,
  poll,
  setsockoptInt,
  SO_RCVBUF,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "./libc.ts";

Deno.test("a failed call leaves errno, and LibcError spells it out", () => {
  assert.equal(socket(9999, SOCK_DGRAM, 0), -1);
  assert.equal(errno(), 97);
  const e = LibcError.fromErrno('Cannot open AF_PACKET socket on "eth0"');
  assert.equal(e.errno, 97);
  assert.equal(e.code, "EAFNOSUPPORT");
  assert.equal(
    e.message,
    'Cannot open AF_PACKET socket on "eth0": EAFNOSUPPORT (Address family not supported by protocol)',
  );
  assert.equal(errnoName(19), "ENODEV");
  assert.equal(errnoMessage(19), "No such device");
});

Deno.test("int socket options round-trip", () => {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0);
  try {
    assert.equal(setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 65536), 0);
    // The kernel doubles it for bookkeeping overhead (socket(7)).
    assert.equal(getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF), 131072);
    assert.equal(getsockoptInt(fd, SOL_SOCKET, 9999), null);
    assert.equal(errno(), 92); // ENOPROTOOPT
  } finally {
    assert.equal(close(fd), 0);
  }
});

Deno.test("a shared memory keeps its address when it grows", () => {
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: 100,
    shared: true,
  });
  const before = addressOf(new Uint8Array(memory.buffer));
  memory.grow(50);
  assert.equal(addressOf(new Uint8Array(memory.buffer)), before);
  assert.ok(before > 0 && before < Number.MAX_SAFE_INTEGER);
  assert.equal(
    Number(Deno.UnsafePointer.value(pointerAt(before + 64))),
    before + 64,
  );
});

Deno.test("poll with no fds sleeps; getpid and if_nametoindex answer", () => {
  const pfd = pointerAt(addressOf(new Uint8Array(new ArrayBuffer(8))));
  const t = performance.now();
  assert.equal(poll(pfd, 0, 20), 0);
  assert.ok(performance.now() - t >= 19);
  assert.equal(getpid(), Deno.pid);
  assert.equal(ifNameToIndex("lo"), 1);
  assert.equal(ifNameToIndex("lvsd-nope0"), 0);
  assert.equal(errnoName(errno()), "ENODEV");
});
