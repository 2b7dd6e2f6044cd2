/// <reference types="node" preserve="true" />
// netsock: the BSD socket layer for Node.js.
export { htonl, htons, ntohl, ntohs } from './byteorder.js'
export { checksum } from './checksum.js'
export { constants } from './constants.js'
export { createSocket, socket, type CreateSocketOptions } from './create.js'
export type { SystemError } from './errors.js'
export { fdOf, type SocketTarget } from './fdof.js'
export {
  optionTable,
  type Linger,
  type OptionKind,
  type OptionKindValue,
  type OptionName,
  type OptionSpec,
  type OptionValue,
  type OptionValueOf,
  type ReadableOptionName,
  type SettableOptionName,
  type SocketKind,
} from './option-table.js'
export type { SockoptKind, SockoptValue, Timeval } from './options.js'
export { Socket } from './socket.js'
export type { AncillaryOptions, IterateOptions, SocketEventMap, TimestampingOptions, TxTimestamp, WaitOptions } from './socket-types.js'
export type { Message } from './message-iterator.js'
export type { RecvIntoResult } from './datagram-receive.js'
export type { SendManyEntry } from './datagram-send.js'
export type { Ecn, OutgoingMessage, SendControl } from './send-control.js'
export type { RecvBatch } from './recv-batch.js'
export type { AddressInfo, PacketAddressInfo, RemoteInfo } from './sockaddr.js'
export { SocketControl } from './socket-control.js'
export type { SocketAddress } from './sockaddr.js'
export type { Ancillary } from './recv-batch.js'
export { encodeBpf, parseBpf, type BpfProgram, type SockFilter } from './bpf.js'
export type { ErrorOrigin, ErrorQueueAddress, ErrorQueueMessage } from './errqueue.js'
export {
  ping,
  type PingError,
  type PingIterator,
  type PingOptions,
  type PingReply,
  type PingResult,
  type PingRtt,
  type PingStats,
  type PingTimeout,
} from './ping.js'
export { traceroute, type TracerouteHop, type TracerouteOptions, type TracerouteProbe } from './traceroute.js'
export type { ProbeOptions } from './probe-options.js'
export type { MulticastInterface } from './multicast.js'
export { SocketStats } from './stats.js'
export { capabilities, type Capabilities } from './capabilities.js'
export { getKeepAlive, keepAliveSeconds, setKeepAlive, type KeepAliveOptions, type KeepAliveSettings, type TcpTarget } from './keepalive.js'
export { decodeTcpInfo, tcpInfo, TCP_CA_STATES, TCP_STATES, TCPI_OPT, type TcpInfo } from './tcp-info.js'
export {
  attachReusePortProgram,
  openReusePort,
  reusePortWorker,
  serveReusePort,
  steeringProgram,
  type ReusePortGroup,
  type ReusePortOptions,
  type ReusePortServer,
  type ReusePortSteering,
  type ReusePortType,
  type ReusePortWorkerInfo,
  type ServeReusePortOptions,
} from './reuseport.js'
export type { Bytes } from './native.js'
export type { IcmpSocketMode } from './icmp.js'
export type { StatName } from './stats.js'
export * as perf from './perf/index.js'
