#!/usr/bin/env node
// The tests drive kvd with real etcd tools and compare against a real etcd: etcdctl 3.4
// (Debian etcd-client), etcd (etcd-server) and the python3-etcd3 and python3-etcd3gw clients. Installs them with apt-get when missing and
// running as root; otherwise says what to install.
import { execSync } from 'node:child_process';

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

// Debian's python3-etcd3 and python3-etcd3gw (third-party clients the tests also drive) run on
// the system Python.
const hasPythonModule = (name) => {
  try {
    execSync(`/usr/bin/python3 -c "import ${name}"`, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const missing = [['etcdctl', 'etcd-client'], ['etcd', 'etcd-server']].filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
for (const [module, pkg] of [['etcd3', 'python3-etcd3'], ['etcd3gw', 'python3-etcd3gw']]) if (!hasPythonModule(module)) missing.push(pkg);
if (missing.length) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    execSync('apt-get update -qq', { stdio: 'inherit' });
    execSync(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`, { stdio: 'inherit', shell: '/bin/sh' });
  } else {
    console.error(`The tests need: ${missing.join(', ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
}
