// tsctl's watch, maintenance, membership, lock, elect and make-mirror commands against etcdctl
// 3.4: the same scripts on fresh kvd servers, or both clients side by side on one server or one
// 3-member cluster, must print the same (stdout, error lines, exit code), byte for byte after
// normalize() where the servers differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS } from './parity/scenarios.js';
import { assertSameOutputs, bothOn, transcript } from './parity/clients.js';
import { settled } from './parity/run.js';
import { normalize, type Step } from './parity/normalize.js';
import { startCluster, startServer } from './harness/server.js';
import { etcdctl, startEtcdctl, type CtlTool, type RunningCtl } from './harness/etcdctl.js';
import { agreedLeader, memberAdd, status, waitFor } from './harness/cluster-status.js';

const s = (...args: string[]): Step => ({ args });
const loose = (...args: string[]): Step => ({ args, loose: true });
const watch = (args: string[], during: Step[], stdin?: string): Step => ({ args: ['watch', ...args], during, ...(stdin ? { stdin } : {}) });
const TOOLS: CtlTool[] = ['etcdctl', 'tsctl'];

/** How many calls of a gRPC method the server has seen start, from its /metrics. */
async function callsStarted(endpoint: string, method: string): Promise<number> {
  const metrics = await (await fetch(`http://${endpoint}/metrics`)).text();
  const line = metrics.match(new RegExp(`^grpc_server_started_total\\{[^}]*grpc_method="${method}"[^}]*\\} (\\d+)`, 'm'));
  return Number(line?.[1] ?? 0);
}

/** Starts a streaming command and waits until the server has its stream (clients start at different speeds). */
async function started(endpoint: string, method: string, args: string[], tool: CtlTool): Promise<RunningCtl> {
  const before = await callsStarted(endpoint, method);
  const ctl = startEtcdctl(endpoint, args, { tool });
  await waitFor(`${tool} ${args[0]} to open its stream`, async () => ((await callsStarted(endpoint, method)) > before ? true : undefined));
  return ctl;
}

const SCRIPTS: Record<string, Step[]> = {
  'watch live': SCENARIOS['watch live']!,
  'watch history': SCENARIOS['watch history']!,
  'watch formats and errors': [
    watch(['w', '-w', 'fields', '--prev-kv'], [s('put', 'w', '1'), s('put', 'w', '2'), s('del', 'w')]),
    watch(['w', '--hex'], [s('put', 'w', '\x01b')]),
    watch(['w', '-w', 'table'], [s('put', 'w', '3')]), // etcdctl refuses the format at the first response
    watch(['w', '--', 'sh', '-c', 'exit 3'], [s('put', 'w', '4')]),
    watch(['-i'], [s('put', 'w', '5'), s('put', 'x', '6')], 'watch a b --prefix\nwatch\nfoo\n\nwatch w\nwatch x -- sh -c "echo $ETCD_WATCH_KEY"\n'),
    watch(['-i'], [], 'watch --prefix\n'),
    s('watch'), s('watch', 'a', 'b', '--prefix'), s('watch', 'foo', '--'),
  ],
  'maintenance': [
    s('put', 'm', '1'), s('put', 'm', '2'),
    loose('endpoint', 'status'), loose('endpoint', 'status', '-w', 'json'), loose('endpoint', 'status', '-w', 'fields'), loose('endpoint', 'status', '-w', 'table'),
    loose('endpoint', 'status', '--cluster', '-w', 'table'),
    s('endpoint', 'hashkv'), s('endpoint', 'hashkv', '-w', 'json'), s('endpoint', 'hashkv', '-w', 'fields'), s('endpoint', 'hashkv', '-w', 'table'),
    s('endpoint', 'hashkv', '--rev', '2'), s('endpoint', 'hashkv', '--rev', '100'), s('endpoint', 'hashkv', '--cluster'),
    s('endpoint', 'health', '--cluster'), s('endpoint', 'health', '-w', 'fields'), loose('endpoint', 'health', '-w', 'table'),
    loose('member', 'list', '-w', 'table'),
    s('alarm', 'list'), s('alarm', 'list', '-w', 'json'), s('alarm', 'list', '-w', 'table'), s('alarm', 'disarm'), s('alarm', 'disarm', '-w', 'json'), s('alarm', 'list', 'x'),
    s('defrag'), s('defrag', '--cluster'), s('get', 'm'),
    s('move-leader'), s('move-leader', 'zz'), s('move-leader', '12345'),
    { args: ['member', 'list'], capture: { name: 'SELF', pattern: /^([0-9a-f]+), started/ } },
    s('move-leader', '$SELF', '-w', 'fields'), s('move-leader', '$SELF'),
    s('member', 'add'), s('member', 'add', 'x', 'http://127.0.0.1:1'), s('member', 'add', 'x'),
    s('member', 'remove'), s('member', 'remove', 'zz'), s('member', 'remove', '12345'), s('member', 'update', '12345'),
    s('member', 'update', '12345', '--peer-urls=http://127.0.0.1:1'), s('member', 'promote', '12345'), s('member', 'promote', '$SELF'),
  ],
  'lock and elect': [
    s('lock'), s('elect'), s('elect', 'e'), s('elect', '-l', 'e', 'p'), s('elect', 'a', 'b', 'c'),
    s('put', 'x', '1'),
    s('lock', 'job', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY rev=$ETCD_LOCK_REV"'), s('lock', 'job', '--', 'sh', '-c', 'exit 2'),
    // The first holds the lock; the second waits until interrupted, the first released on Ctrl-C.
    { args: ['lock', 'res', '--ttl', '20'], during: [{ args: ['lock', 'res'], during: [] }] },
    { args: ['lock', 'res'], during: [] },
    // A leader, then an observer and a second candidate; Ctrl-C makes the leader resign.
    { args: ['elect', 'job', 'p1'], during: [{ args: ['elect', '-l', 'job'], during: [] }, { args: ['elect', 'job', 'p2'], during: [] }] },
    { args: ['elect', '-l', 'job', '-w', 'fields'], during: [{ args: ['elect', 'job', 'p3'], during: [] }] },
    s('get', '--prefix', 'job', '--keys-only'),
  ],
};

// Lease IDs differ between servers: in lock and election keys (of any length), and in decimal in the fields format.
const leaseIds = (t: string) => t.replace(/"(Prev)?Lease" : \d+/g, '"$1Lease" : <n>').replace(/\b(job|res)\/(<id>|[0-9a-f]+\b)/g, '$1/<lease>');

for (const [name, steps] of Object.entries(SCRIPTS)) {
  test(`tsctl prints what etcdctl prints: ${name}`, () => assertSameOutputs(steps, leaseIds));
}

test('watch, elect -l and protobuf output: both clients side by side on one server', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const ep = server.endpoint;
    const formats = [['-w', 'protobuf'], ['-w', 'json', '--prev-kv'], ['--rev', '1', '-w', 'fields']];
    const watchers: RunningCtl[] = [];
    for (const args of formats) for (const tool of TOOLS) watchers.push(await started(ep, 'Watch', ['watch', '--prefix', 'p', ...args], tool));
    const observers: RunningCtl[] = [];
    // etcdctl observes with a watch of its own; tsctl asks kvd's Election service.
    for (const tool of TOOLS) observers.push(await started(ep, tool === 'etcdctl' ? 'Watch' : 'Observe', ['elect', '-l', 'vote', '-w', 'json'], tool));
    for (const args of [['put', 'p/a', '1'], ['put', 'p/b', '2'], ['put', 'p/a', '3'], ['del', 'p/', '--prefix']]) assert.equal((await etcdctl(ep, args)).code, 0);
    const candidate = startEtcdctl(ep, ['elect', 'vote', 'yes']);
    await waitFor('both observers to see the leader', async () => (observers.every((o) => o.stdout().includes('"kvs"')) ? true : undefined));
    await Promise.all([...watchers, ...observers].map(settled));
    await candidate.stop();
    const [watched, observed] = [await Promise.all(watchers.map((w) => w.stop())), await Promise.all(observers.map((o) => o.stop()))];
    for (let i = 0; i < watched.length; i += 2) assert.equal(transcript(watched[i + 1]!), transcript(watched[i]!), `watch ${formats[i / 2]!.join(' ')}`);
    assert.equal(transcript(observed[1]!), transcript(observed[0]!));
    assert.match(observed[0]!.stdout, /"kvs":\[\{"key":"[^"]+","create_revision"/);

    // Interactive watches, then a progress request: every watch of the stream reports the revision.
    // They watch from the next revision on, so that a watch created late still sees every change.
    const next = Number(JSON.parse((await etcdctl(ep, ['get', 'a', '-w', 'json'])).stdout).header.revision) + 1;
    const interactive = TOOLS.map((tool) => startEtcdctl(ep, ['watch', '-i'], { tool }));
    for (const w of interactive) w.write(`watch a --rev ${next}\nwatch b --prev-kv --rev=${next}\n`);
    for (const key of ['a', 'b']) {
      assert.equal((await etcdctl(ep, ['put', key, 'v'])).code, 0);
      await waitFor(`both to see ${key}`, async () => (interactive.every((w) => w.stdout().includes(`${key}\nv\n`)) ? true : undefined));
    }
    for (const w of interactive) w.write('progress\n');
    await waitFor('both to report progress twice', async () => (interactive.every((w) => w.stdout().split('progress notify').length === 3) ? true : undefined));
    for (const w of interactive) w.write('', true);
    const [ctlInteractive, tsInteractive] = await Promise.all(interactive.map((w) => w.exited));
    assert.equal(transcript(tsInteractive!), transcript(ctlInteractive!));
    assert.equal(ctlInteractive!.code, 3);

    for (const args of [['get', '', '--from-key', '-w', 'protobuf'], ['get', 'a', '--rev', '1', '-w', 'protobuf'], ['del', 'nokey', '-w', 'protobuf'], ['member', 'list', '-w', 'protobuf'], ['alarm', 'list', '-w', 'protobuf'], ['endpoint', 'hashkv', '-w', 'protobuf'], ['endpoint', 'status', '-w', 'protobuf'],
      // etcdctl writes only a lease response's header (its client's types embed it).
      ['lease', 'grant', '100', '-w', 'protobuf'], ['lease', 'list', '-w', 'protobuf'], ['lease', 'timetolive', '1234', '-w', 'protobuf'], ['lease', 'revoke', '1234', '-w', 'protobuf']]) {
      const [ctl, ts] = await bothOn(ep, args);
      assert.equal(ts, ctl, args.join(' '));
    }
  } finally {
    await server.stop();
  }
});

test('make-mirror: both clients mirror one source to their own destinations alike', async () => {
  const [source, ...dests] = [await startServer({ kind: 'kvd' }), await startServer({ kind: 'kvd' }), await startServer({ kind: 'kvd' })];
  try {
    const put = async (...args: string[]) => assert.equal((await etcdctl(source.endpoint, args)).code, 0);
    await put('put', 'app/1', 'a');
    await put('put', 'app/2', 'b');
    await put('put', 'other', 'x');
    const mirrors: RunningCtl[] = [];
    for (const [i, tool] of TOOLS.entries()) mirrors.push(await started(source.endpoint, 'Watch', ['make-mirror', '--prefix', 'app/', '--dest-prefix', 'copy/', dests[i]!.endpoint], tool));
    const mirrored = (i: number) => etcdctl(dests[i]!.endpoint, ['get', '', '--from-key']).then((r) => r.stdout);
    await waitFor('the base copies', async () => ((await mirrored(0)) && (await mirrored(1)) ? true : undefined));
    await put('put', 'app/3', 'c');
    await put('del', 'app/1');
    // One revision with several changes: one transaction on the destination.
    assert.equal((await etcdctl(source.endpoint, ['txn'], { stdin: '\nput app/4 d\ndel app/3\nput other z\n\n\n' })).code, 0);
    await put('put', 'app/2', 'b2');
    await put('put', 'other', 'y');
    const expected = 'copy/2\nb2\ncopy/4\nd\n';
    await waitFor('the updates', async () => ((await mirrored(0)) === expected && (await mirrored(1)) === expected ? true : undefined));
    const [ctl, ts] = await Promise.all(mirrors.map((m) => m.stop()));
    assert.equal(transcript(ts!), transcript(ctl!));

    for (const args of [['make-mirror'], ['make-mirror', '--dest-prefix', 'a', '--no-dest-prefix', dests[0]!.endpoint]]) {
      const [c, t] = await bothOn(source.endpoint, args);
      assert.equal(t, c, args.join(' '));
    }
  } finally {
    await Promise.all([source, ...dests].map((m) => m.stop()));
  }
});

test('a 3-member cluster: status, hashkv, defrag, health, move-leader and member changes as etcdctl', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3 });
  const extra: { stop(): Promise<void> }[] = [];
  try {
    const all = cluster.endpoints.join(',');
    const ep = cluster.members[0]!.endpoint;
    // A member publishes its client URLs once started: until all have, the member list changes.
    await waitFor('every member to publish its client URLs', async () => {
      const listed = await etcdctl(ep, ['member', 'list']);
      return listed.stdout.split('\n').filter((l) => /, started, [^,]+, [^,]+, http/.test(l)).length === 3 ? true : undefined;
    });
    const same = async (endpoints: string, args: string[], prepare = (t: string) => t) => {
      const [ctl, ts] = await bothOn(endpoints, args);
      assert.equal(prepare(ts), prepare(ctl), args.join(' '));
      return ctl;
    };
    for (const format of ['simple', 'json', 'fields', 'table']) {
      await same(all, ['endpoint', 'status', '-w', format]);
      await same(ep, ['endpoint', 'status', '--cluster', '-w', format]);
      await same(all, ['endpoint', 'hashkv', '--cluster', '-w', format]);
      await same(ep, ['member', 'list', '-w', format]);
    }
    await same(ep, ['defrag', '--cluster']);
    // Health answers come in any order, each timed: compared as sorted lines, times left out.
    const healthLines = (t: string) => t.replace(/took = \S+|"took":"[^"]*"|"Took" : \S+/g, '<t>').replace(/^\[|\]$/gm, '').split(/\n|(?<=\}),(?=\{)/).sort().join('\n');
    for (const format of ['simple', 'json', 'fields']) await same(ep, ['endpoint', 'health', '--cluster', '-w', format], healthLines);

    // move-leader: each client hands leadership to a follower; asked of followers only, both refuse.
    const leader = await agreedLeader(cluster.members);
    const followers = cluster.members.filter((m) => m !== leader);
    await same(followers.map((m) => m.endpoint).join(','), ['move-leader', '1'], (t) => t.replace(/127\.0\.0\.1:\d+/g, '<ep>'));
    const moves: string[] = [];
    for (const [i, tool] of TOOLS.entries()) {
      const current = await agreedLeader(cluster.members);
      const target = cluster.members.find((m) => m !== current && m !== (i ? leader : undefined))!;
      const targetId = (await status(target.endpoint)).memberId.toString(16);
      const moved = await etcdctl(all, ['move-leader', targetId], { tool });
      moves.push(normalize(transcript(moved), ep, { args: [] }));
      assert.equal((await agreedLeader(cluster.members)).name, target.name);
    }
    assert.equal(moves[1], moves[0]);
    assert.match(moves[0]!, /^exit 0\nLeadership transferred from <id> to <id>\n/);

    // Membership: each client adds a learner, which is started and promoted, then updated and removed.
    const memberIdText = (t: string) => t.match(/Member +([0-9a-f]+) added/)![1]!;
    const sameShape = (t: string) => normalize(t, ep, { args: [] }).replace(/Member +<id>|Member +[0-9a-f]+/g, 'Member <id>')
      .replace(/(ETCD_INITIAL_CLUSTER=")([^"]*)/, (_all, head: string, list: string) => head + list.split(',').sort().join(','))
      .replace(/learner-(etcdctl|tsctl)/g, '<name>');
    const changes: string[][] = [[], []];
    for (const [i, tool] of TOOLS.entries()) {
      const planned = await cluster.plan(`learner-${tool}`);
      const add = await memberAdd(() => etcdctl(all, ['member', 'add', planned.name, `--peer-urls=${planned.peerURL}`, '--learner'], { tool }));
      changes[i]!.push(sameShape(transcript(add)));
      const id = memberIdText(add.stdout);
      const joined = await cluster.join(planned);
      extra.push(joined);
      for (const args of [['member', 'promote', id], ['member', 'promote', id], ['member', 'update', id, `--peer-urls=${planned.peerURL}`], ['member', 'update', id, `--peer-urls=${planned.peerURL}`, '-w', 'fields']]) {
        changes[i]!.push(sameShape(transcript(await waitFor(`${args.join(' ')} to be accepted`, async () => {
          const r = await etcdctl(all, args, { tool });
          return r.code === 1 && /in sync with leader/.test(r.stderr) ? undefined : r;
        }))));
      }
      changes[i]!.push(sameShape(transcript(await etcdctl(all, ['member', 'remove', id, '-w', 'json'], { tool }))));
      changes[i]!.push(sameShape(transcript(await etcdctl(all, ['member', 'remove', id], { tool }))));
      cluster.members.pop();
      await joined.stop();
    }
    assert.deepEqual(changes[1], changes[0]);
    assert.match(changes[0]![0]!, /added to cluster +<id>\n\nETCD_NAME="<name>"\nETCD_INITIAL_CLUSTER=".*"\nETCD_INITIAL_ADVERTISE_PEER_URLS="http:\/\/127.0.0.1:<port>"\nETCD_INITIAL_CLUSTER_STATE="existing"\n/);
    assert.match(changes[0]![1]!, /^exit 0\nMember <id> promoted in cluster +<id>\n/);
  } finally {
    await Promise.all(extra.map((m) => m.stop()));
    await cluster.stop();
  }
});
