// /metrics in Prometheus text: etcd's metric names with live values, the process's, and kvd's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, startServer } from './harness/server.js';
import { agreedLeader } from './harness/cluster-status.js';
import { freePort } from './harness/ports.js';
import { connect } from '../../src/client/client.js';

test('/metrics on --listen-metrics-urls and the client port: etcd\'s names with live values, process and gateway metrics', async () => {
  const port = await freePort();
  const server = await startServer({ kind: 'kvd', extraArgs: ['--listen-metrics-urls', `http://127.0.0.1:${port}`] });
  try {
    const client = connect(server.endpoint);
    await client.kv.Put!({ key: Buffer.from('m'), value: Buffer.from('1') });
    await client.kv.Put!({ key: Buffer.alloc(0), value: Buffer.from('1') }).catch(() => undefined);
    client.close();
    const health = await fetch(`http://${server.endpoint}/health`);
    assert.equal(health.headers.get('content-type'), 'text/plain; charset=utf-8');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^[a-zA-Z_:][\w:]*(\{[^}]*\})? ([-+\d.eE]+|NaN|[+-]Inf)$/, line);
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^etcd_server_has_leader 1$/m);
    assert.match(text, /^etcd_server_leader_changes_seen_total 1$/m);
    assert.match(text, /^etcd_server_proposals_committed_total [1-9]\d*$/m);
    assert.match(text, /^etcd_server_proposals_applied_total [1-9]\d*$/m);
    assert.match(text, /^etcd_disk_wal_fsync_duration_seconds_count [1-9]\d*$/m);
    assert.match(text, /^etcd_disk_backend_commit_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    assert.match(text, /^etcd_mvcc_db_total_size_in_bytes [1-9]\d*$/m);
    assert.match(text, /^etcd_debugging_mvcc_keys_total 1$/m);
    assert.match(text, /^etcd_debugging_mvcc_db_total_size_in_bytes [1-9]\d*$/m);
    assert.match(text, /^etcd_server_quota_backend_bytes 2147483648$/m);
    assert.match(text, /^etcd_server_version\{server_version="3\.5\.0"\} 1$/m);
    assert.match(text, /^etcd_cluster_version\{cluster_version="3\.4"\} 1$/m);
    assert.match(text, /^etcd_server_id\{server_id="[0-9a-f]+"\} 1$/m);
    assert.match(text, /^etcd_server_health_success 1$/m);
    assert.match(text, /^etcd_server_health_failures 0$/m);
    for (const actor of ['raft', 'mvcc', 'watch', 'reader']) assert.match(text, new RegExp(`^kvd_actor_queue_depth\\{actor="${actor}"\\} \\d+$`, 'm'));
    assert.match(text, /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK"\} 1$/m);
    assert.match(text, /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="InvalidArgument"\} 1$/m);
    // The client port serves the same.
    assert.match(await (await fetch(`http://${server.endpoint}/metrics`)).text(), /^etcd_server_has_leader 1$/m);
    assert.match(text, /^kvd_gateway_event_loop_delay_seconds\{quantile="0.99"\} [\d.e+-]+$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    await server.stop();
  }
});

test('3 members: the leader reports heartbeat round trips to each follower', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3 });
  try {
    const leader = await agreedLeader(cluster.members);
    await new Promise((r) => setTimeout(r, 1000));
    const text = await (await fetch(`http://${leader.endpoint}/metrics`)).text();
    const members = (await (await fetch(`http://${leader.endpoint}/v3/cluster/member/list`, { method: 'POST', body: '{}' })).json()) as { header: { member_id: string }; members: { ID: string }[] };
    const followers = members.members.map((m) => BigInt(m.ID).toString(16)).filter((id) => id !== BigInt(members.header.member_id).toString(16));
    assert.equal(followers.length, 2);
    // As etcd's: one histogram per peer, labelled with its member ID in hex.
    for (const id of followers) assert.match(text, new RegExp(`^etcd_network_peer_round_trip_time_seconds_count\\{To="${id}"\\} [1-9]\\d*$`, 'm'));
    assert.match(text, /^etcd_server_is_leader 1$/m);
  } finally {
    await cluster.stop();
  }
});
