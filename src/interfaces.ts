// Network interfaces by name: if_nametoindex with the name checked first,
// so a name C would cut short (a NUL inside, longer than IFNAMSIZ - 1) is an
// argument error, not another interface.
import { check, invalidArgValue } from './errors.js'
import { addon } from './native.js'
import { validateString } from './validate.js'

/** IFNAMSIZ (net/if.h) less the terminating NUL. */
const MAX_NAME_BYTES = 15

/** The index of the interface named `value` (ENODEV when there is none). */
export function interfaceIndex(value: unknown, name: string): number {
  const iface = validateString(value, name)
  if (iface.length === 0 || iface.includes('\0') || Buffer.byteLength(iface) > MAX_NAME_BYTES) {
    throw invalidArgValue(name, `must be an interface name of 1 to ${MAX_NAME_BYTES} bytes without NUL`, value)
  }
  return check(addon.ifNameToIndex(iface), 'if_nametoindex', { address: iface })
}
