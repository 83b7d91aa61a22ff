import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { candidates, knownUnavailable } from './providers';

describe('knownUnavailable', () => {
  it('skips WebGPU on Linux without the Vulkan loader, so Dawn never prints its warning', () => {
    expect(knownUnavailable('webgpu', 'linux', undefined, () => false)).toMatch(/libvulkan\.so\.1/);
    expect(knownUnavailable('webgpu', 'linux', '/opt/vk', (f) => f === '/opt/vk/libvulkan.so.1')).toBeUndefined();
    expect(
      knownUnavailable('webgpu', 'linux', undefined, (f) => f === '/usr/lib/x86_64-linux-gnu/libvulkan.so.1'),
    ).toBeUndefined();
  });

  it('leaves other providers and platforms to the real attempt', () => {
    expect(knownUnavailable('cpu', 'linux', undefined, () => false)).toBeUndefined();
    expect(knownUnavailable('webgpu', 'win32', undefined, () => false)).toBeUndefined();
  });

  it('agrees with this machine: the loader is there exactly when the answer says so', () => {
    const found = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) =>
      existsSync(`${d}/libvulkan.so.1`),
    );
    expect(knownUnavailable('webgpu', 'linux', undefined, existsSync) === undefined).toBe(found);
    expect(candidates('auto', 'linux')).toContain('webgpu');
  });
});
