// The ESM entry's declarations: the same names, and a default export.
import netsock, { createSocket, type Socket } from '../../dist/esm/index.mjs'

const s: Socket = createSocket({ type: 'udp6' })
s.setOption('IPV6_V6ONLY', false)
// @ts-expect-error a misspelt option name
s.setOption('IPV6_V6ONY', false)
const same: typeof createSocket = netsock.createSocket
{
  using scoped = createSocket({ type: 'udp4' })
  scoped.unref()
}
void same
