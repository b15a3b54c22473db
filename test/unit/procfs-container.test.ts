import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { containerFromPath, parseContainer } from '../../src/procfs/container.js';

const ID = 'c8d1f7a2b3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddee';
const ID2 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const UID = '6b7f3c1e-2a4d-4e5f-9a8b-0c1d2e3f4a5b';
const UID_ = UID.replace(/-/g, '_');

describe('containerFromPath: Kubernetes pods', () => {
  const cases: Array<[string, string, object]> = [
    ['cgroupfs driver, burstable, bare id (v1)', `/kubepods/burstable/pod${UID}/${ID}`, { engine: 'unknown', id: ID, podUid: UID, qosClass: 'burstable' }],
    ['cgroupfs driver, besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, { engine: 'unknown', id: ID, podUid: UID, qosClass: 'besteffort' }],
    ['cgroupfs driver, guaranteed (no QoS level)', `/kubepods/pod${UID}/${ID}`, { engine: 'unknown', id: ID, podUid: UID, qosClass: 'guaranteed' }],
    ['cgroupfs driver, CRI-O', `/kubepods/burstable/pod${UID}/crio-${ID}`, { engine: 'cri-o', id: ID, podUid: UID, qosClass: 'burstable' }],
    [
      'systemd driver, containerd, burstable (v2)',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { engine: 'containerd', id: ID, podUid: UID, qosClass: 'burstable' },
    ],
    [
      'systemd driver, containerd, besteffort',
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { engine: 'containerd', id: ID, podUid: UID, qosClass: 'besteffort' },
    ],
    [
      'systemd driver, guaranteed',
      `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { engine: 'containerd', id: ID, podUid: UID, qosClass: 'guaranteed' },
    ],
    [
      'systemd driver, CRI-O',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
      { engine: 'cri-o', id: ID, podUid: UID, qosClass: 'burstable' },
    ],
    [
      'systemd driver, CRI-O conmon',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`,
      { engine: 'cri-o', id: ID, podUid: UID, qosClass: 'burstable' },
    ],
    [
      'systemd driver, docker (cri-dockerd)',
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID}.scope`,
      { engine: 'docker', id: ID, podUid: UID, qosClass: 'besteffort' },
    ],
    [
      'kind node: the cgroupsPath colon form',
      `/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`,
      { engine: 'containerd', id: ID, podUid: UID, qosClass: 'burstable' },
    ],
    [
      'a kind node seen from its host (nested under docker)',
      `/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID}`,
      { engine: 'unknown', id: ID, podUid: UID, qosClass: 'besteffort' },
    ],
    ['the pod cgroup itself (no container)', `/kubepods/burstable/pod${UID}`, { engine: 'kubernetes', id: '', podUid: UID, qosClass: 'burstable' }],
  ];
  for (const [name, path, want] of cases) test(name, () => assert.deepEqual(containerFromPath(path), want));
});

describe('containerFromPath: engines outside Kubernetes', () => {
  const cases: Array<[string, string, object | undefined]> = [
    ['docker, cgroupfs (v1)', `/docker/${ID}`, { engine: 'docker', id: ID }],
    ['docker, systemd (v2)', `/system.slice/docker-${ID}.scope`, { engine: 'docker', id: ID }],
    ['containerd, its own namespace dir', `/containerd/${ID}`, { engine: 'containerd', id: ID }],
    ['containerd, systemd', `/system.slice/cri-containerd-${ID}.scope`, { engine: 'containerd', id: ID }],
    ['CRI-O, systemd', `/machine.slice/crio-${ID}.scope`, { engine: 'cri-o', id: ID }],
    ['podman rootful', `/machine.slice/libpod-${ID}.scope`, { engine: 'podman', id: ID }],
    ['podman rootful, cgroupfs', `/libpod_parent/libpod-${ID}`, { engine: 'podman', id: ID }],
    [
      'podman rootless (v2, with the container subgroup)',
      `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container`,
      { engine: 'podman', id: ID },
    ],
    ['podman conmon', `/machine.slice/libpod-conmon-${ID}.scope`, { engine: 'podman', id: ID }],
    ['docker-in-docker: the innermost id wins', `/docker/${ID2}/docker/${ID}`, { engine: 'docker', id: ID }],
    ['systemd-nspawn machine', '/machine.slice/machine-web\\x2d1.scope', { engine: 'systemd-nspawn', id: 'web-1' }],
    ['a plain systemd service', '/system.slice/nginx.service', undefined],
    ['a login session', '/user.slice/user-0.slice/session-4.scope', undefined],
    ['the root cgroup', '/', undefined],
    ['a 64-hex name not under any engine', `/jobs/${ID}`, undefined],
    ['a pod-looking name outside kubepods', `/batch/pod${UID}/${ID}`, undefined],
    ['a uid too short is no pod', `/kubepods/burstable/pod6b7f3c1e-2a4d/${ID}`, undefined],
  ];
  for (const [name, path, want] of cases) test(name, () => assert.deepEqual(containerFromPath(path), want));
});

describe('parseContainer: whole /proc/PID/cgroup files', () => {
  test('v1 cgroupfs driver (every controller line names the pod)', () => {
    const text =
      [
        `12:pids:/kubepods/burstable/pod${UID}/${ID}`,
        `11:memory:/kubepods/burstable/pod${UID}/${ID}`,
        `4:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
        `1:name=systemd:/kubepods/burstable/pod${UID}/${ID}`,
        '0::/',
      ].join('\n') + '\n';
    assert.deepEqual(parseContainer(text), { engine: 'unknown', id: ID, podUid: UID, qosClass: 'burstable' });
  });
  test('hybrid host: the v2 line is a plain service, the memory line names the container', () => {
    const text = `11:memory:/docker/${ID}\n1:name=systemd:/docker/${ID}\n0::/system.slice/docker.service\n`;
    assert.deepEqual(parseContainer(text), { engine: 'docker', id: ID });
  });
  test('v2 only, systemd driver', () => {
    const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope\n`;
    assert.deepEqual(parseContainer(text), { engine: 'containerd', id: ID, podUid: UID, qosClass: 'besteffort' });
  });
  test('inside a container with its own cgroup namespace: "0::/" names nothing', () => {
    assert.equal(parseContainer('0::/\n'), undefined);
  });
  test('a host process', () => {
    assert.equal(parseContainer('12:memory:/user.slice\n0::/user.slice/user-0.slice/session-1.scope\n'), undefined);
  });
  test('garbage is no container, not a crash', () => {
    assert.equal(parseContainer('not a cgroup file'), undefined);
    assert.equal(parseContainer(`0::/${'docker-'.repeat(2000)}${ID}`), undefined);
  });
});
