// Test certificates made with the openssl command in a temporary directory: a CA with a server
// certificate for 127.0.0.1 (also usable as a client certificate, as members present theirs to
// each other), one for another host (far-server) and client certificates by Common Name, and a
// second, unrelated CA with the same.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface TestCerts {
  dir: string;
  /** The path of a file made here: ca.crt, server.crt, server.key, <cn>.crt, <cn>.key, other-ca.crt, other-server.crt, … */
  file(name: string): string;
  /** Revokes the CA's certificates of these Common Names; returns the path of the CA's revocation list (PEM). */
  revoke(cns: string[]): string;
  remove(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

function authority(dir: string, prefix: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', `${prefix}ca.key`, '-out', `${prefix}ca.crt`, '-subj', `/CN=${name}`]);
}

function issue(dir: string, prefix: string, leaf: string, cn: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${leaf}.ext`), extensions);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=${cn}`]);
  openssl(dir, ['x509', '-req', '-in', `${leaf}.csr`, '-CA', `${prefix}ca.crt`, '-CAkey', `${prefix}ca.key`, '-CAcreateserial',
    '-days', '2', '-out', `${leaf}.crt`, '-extfile', `${leaf}.ext`]);
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';
/** A member certificate from the trusted CA for another host's address. */
const FAR_SERVER_EXT = 'subjectAltName=IP:10.9.9.9\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';

/** `clients`: the Common Names of client certificates from the CA; `otherClients` from the other CA. */
export function makeTestCerts(clients: string[], otherClients: string[]): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvd-certs-'));
  authority(dir, '', 'kvd test CA');
  authority(dir, 'other-', 'unrelated test CA');
  issue(dir, '', 'server', 'server', SERVER_EXT);
  issue(dir, 'other-', 'other-server', 'server', SERVER_EXT);
  issue(dir, '', 'far-server', 'server', FAR_SERVER_EXT);
  for (const cn of clients) issue(dir, '', cn, cn, CLIENT_EXT);
  for (const cn of otherClients) issue(dir, 'other-', cn, cn, CLIENT_EXT);
  return {
    dir,
    file: (name) => path.join(dir, name),
    revoke: (cns) => {
      fs.writeFileSync(path.join(dir, 'ca.cnf'), '[ca]\ndefault_ca=test_ca\n[test_ca]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=2\ncertificate=ca.crt\nprivate_key=ca.key\n');
      fs.writeFileSync(path.join(dir, 'index.txt'), '');
      fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
      for (const cn of cns) openssl(dir, ['ca', '-config', 'ca.cnf', '-revoke', `${cn}.crt`]);
      openssl(dir, ['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'ca.crl']);
      return path.join(dir, 'ca.crl');
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
