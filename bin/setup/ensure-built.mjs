#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when node_modules is missing or older
// than the lockfile, and compiles TypeScript when dist/ is missing or older than any source.
// `--force` always compiles (the test command uses it).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);

function newestIn(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : mtime(p));
  }
  return newest;
}

const installed = path.join(root, 'node_modules', '.package-lock.json');
if (mtime(installed) < mtime(path.join(root, 'package-lock.json'))) {
  run('npm ci --no-audit --no-fund');
}

const built = path.join(root, 'dist', '.built');
const sources = Math.max(...['src', 'test', 'bench'].map((d) => newestIn(path.join(root, d))), mtime(path.join(root, 'tsconfig.json')));
if (process.argv.includes('--force') || mtime(built) < sources) {
  run('npx tsc -p tsconfig.json');
  fs.writeFileSync(built, new Date().toISOString() + '\n');
}
