import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { constants, socket } from '../src/index.js'
import { check, invalidArgType, outOfRange, systemError } from '../src/errors.js'
import { testWithCaps } from './helpers/privilege.js'

describe('system errors', () => {
  test('look like Node system errors', () => {
    const err = systemError(-98, 'bind', { address: '127.0.0.1', port: 5000 })
    expect(err).toBeInstanceOf(Error)
    expect(err).toMatchObject({ code: 'EADDRINUSE', errno: -98, syscall: 'bind', address: '127.0.0.1', port: 5000 })
    expect(err.message).toBe('bind EADDRINUSE 127.0.0.1:5000')
  })

  test('bracket IPv6 addresses with a port', () => {
    expect(systemError(-111, 'connect', { address: '::1', port: 80 }).message).toBe('connect ECONNREFUSED [::1]:80')
  })

  test('carry a detail and a hint in the message', () => {
    const err = systemError(-92, 'setsockopt', { detail: 'TCP_NODELAY', hint: 'why' })
    expect(err.message).toBe('setsockopt ENOPROTOOPT TCP_NODELAY (why)')
    expect(err.hint).toBe('why')
  })

  test('check passes non-negative results through and throws on negative errno', () => {
    expect(check(7, 'x')).toBe(7)
    expect(() => check(-9, 'close')).toThrow(expect.objectContaining({ code: 'EBADF', errno: -9 }))
  })

  test('an errno Node has no name for still makes an error', () => {
    expect(systemError(-4242, 'x').code).toMatch(/Unknown system error/)
  })
})

describe('argument errors', () => {
  test('name the argument and the received value', () => {
    expect(invalidArgType('port', 'of type number', 'x')).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: `The "port" argument must be of type number. Received type string ('x')`,
    })
    expect(invalidArgType('opts', 'of type object', null).message).toMatch(/Received null$/)
    const range = outOfRange('port', '>= 0 && <= 65535', 70000)
    expect(range).toBeInstanceOf(RangeError)
    expect(range.message).toBe('The value of "port" is out of range. It must be >= 0 && <= 65535. Received 70000')
  })
})

const root = path.resolve(__dirname, '..')

describe('privilege errors', () => {
  testWithCaps(['CAP_NET_RAW'], 'without CAP_NET_RAW a raw socket fails with EPERM and a hint naming it', () => {
    const out = execFileSync(
      'setpriv',
      [
        '--bounding-set=-net_raw',
        '--inh-caps=-net_raw',
        process.execPath,
        '-e',
        `
        const { createSocket, socket, constants } = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))})
        const report = (f) => { try { f(); return 'opened' } catch (e) { return { code: e.code, syscall: e.syscall, hint: e.hint } } }
        console.log(JSON.stringify({
          raw: report(() => createSocket({ type: 'raw4', protocol: 'icmp' })),
          packet: report(() => createSocket({ type: 'packet' })),
          caps: require('fs').readFileSync('/proc/self/status', 'utf8').match(/CapEff:\\s+(\\w+)/)[1],
        }))`,
      ],
      { encoding: 'utf8' },
    )
    const result = JSON.parse(out)
    expect(BigInt(`0x${result.caps}`) & (1n << 13n)).toBe(0n)
    expect(result.raw).toMatchObject({ code: 'EPERM', syscall: 'socket', hint: expect.stringContaining('CAP_NET_RAW') })
    expect(result.packet).toMatchObject({ code: 'EPERM', hint: expect.stringContaining('CAP_NET_RAW') })
  })

  test('a refused ping socket names net.ipv4.ping_group_range', () => {
    let err: any
    try {
      socket(constants.AF_INET, constants.SOCK_DGRAM, constants.IPPROTO_ICMP).close()
    } catch (e) {
      err = e
    }
    if (err === undefined) return // this host's ping_group_range admits our group: nothing to refuse
    expect(err.code).toBe('EACCES')
    expect(err.hint).toContain('net.ipv4.ping_group_range')
  })
})
