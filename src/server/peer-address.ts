// As etcd's peer listeners: a peer certificate that names IP addresses or DNS names must name
// the address its connection comes from, directly or by a name that resolves to it. A stolen
// member certificate is then of no use from another host.
import dns from 'node:dns/promises';
import net from 'node:net';
import type tls from 'node:tls';

/** The reason to refuse `socket`'s peer, or undefined when its certificate allows its address. */
export async function peerAddressMismatch(socket: tls.TLSSocket): Promise<string | undefined> {
  const cert = socket.getPeerX509Certificate();
  if (!cert?.subjectAltName) return undefined;
  const names = cert.subjectAltName.split(', ');
  const ips = names.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice('IP Address:'.length));
  const dnsNames = names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice('DNS:'.length));
  if (!ips.length && !dnsNames.length) return undefined;
  const remote = unmapped(socket.remoteAddress ?? '');
  if (ips.some((ip) => sameAddress(ip, remote))) return undefined;
  for (const name of dnsNames) {
    const resolved = await dns.lookup(name, { all: true }).catch(() => []);
    if (resolved.some((a) => sameAddress(a.address, remote))) return undefined;
  }
  return dnsNames.length
    ? `tls: "${remote}" does not match any of DNSNames ${JSON.stringify(dnsNames)}`
    : `x509: certificate is valid for ${ips.join(', ')}, not ${remote}`;
}

/** An IPv4 address a dual-stack listener reports in its IPv6 form, as IPv4. */
const unmapped = (address: string) => (address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address);

function sameAddress(a: string, b: string): boolean {
  const family = net.isIP(a);
  if (!family || family !== net.isIP(b)) return false;
  const list = new net.BlockList();
  list.addAddress(a, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, family === 4 ? 'ipv4' : 'ipv6');
}
