// netsock: the BSD socket layer for Node.js.
export { htonl, htons, ntohl, ntohs } from './byteorder.js'
export { checksum } from './checksum.js'
export { constants } from './constants.js'
export { createSocket, socket, type CreateSocketOptions } from './create.js'
export type { SystemError } from './errors.js'
export { fdOf } from './fdof.js'
export { optionTable, type Linger, type OptionKind, type OptionSpec, type OptionValue, type SocketKind } from './option-table.js'
export type { SockoptKind, SockoptValue, Timeval } from './options.js'
export {
  Socket,
  type AddressInfo,
  type AncillaryOptions,
  type IterateOptions,
  type Message,
  type PacketAddressInfo,
  type RecvBatch,
  type RecvIntoResult,
  type RemoteInfo,
  type SendManyEntry,
  type WaitOptions,
} from './socket.js'
export type { Ancillary } from './recv-batch.js'
export { SocketStats } from './stats.js'
export { capabilities, type Capabilities } from './capabilities.js'
