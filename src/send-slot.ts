// The addon's send slot (native/io.h SendSlot): the destination and the
// control record of the next sendTo / sendMsg, written here just before the
// call instead of passed as typed-array arguments (each of which costs the
// call several engine lookups). No user code runs between writing the slot
// and the call that reads it.
import { addon } from './native.js'

const STRIDE = addon.sendLayout.stride
const slotAddr = new Uint8Array(addon.sendSlot, 0, addon.limits.addrStride)
const slotControl = new Int32Array(addon.sendSlot, addon.sendSlotControl, STRIDE)
/**
 * The encoded destination whose bytes the slot holds (sockaddrs from
 * SockaddrCache never change), kept with the slot itself: a second copy of
 * these modules (a test runner's module reset) shares the addon and its
 * slot, and must not trust a copy of this record of its own.
 */
interface SlotHolder {
  addr: Uint8Array | undefined
}
const HOLDER = Symbol.for('netsock.sendSlotHolder')
// On the slot's ArrayBuffer: each copy of native.ts wraps the addon's exports in an object of its own.
const held: SlotHolder = ((addon.sendSlot as ArrayBuffer & { [HOLDER]?: SlotHolder })[HOLDER] ??= { addr: undefined })

/** Puts `addr` (an encoded sockaddr) in the slot unless it is there already; the length to pass, 0 for none (the connected peer). */
export function slotAddress(addr: Uint8Array | undefined): number {
  if (addr === undefined) return 0
  if (addr !== held.addr) {
    // An index loop, not .set: a patched TypedArray.prototype.set would run user code between this and the send.
    for (let i = 0; i < addr.length; i++) slotAddr[i] = addr[i]
    held.addr = addr
  }
  return addr.byteLength
}

/** Copies the first send-control record of `control` into the slot. */
export function slotControlFrom(control: Int32Array): void {
  for (let i = 0; i < STRIDE; i++) slotControl[i] = control[i]
}
