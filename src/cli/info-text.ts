// `tsrun info` as `docker info` prints it: a Client section, then Server.
import type { SystemInfo } from '../system/info.js';
import { bytesSize } from './format.js';

export function infoText(i: SystemInfo): string {
  const sec = i.SecurityOptions.flatMap((o) => {
    const [name, ...kv] = o.split(',');
    return [`  ${name.replace(/^name=/, '')}`, ...kv.map((p) => `   ${p[0].toUpperCase()}${p.slice(1).replace('=', ': ')}`)];
  });
  const insecure = [...Object.values(i.RegistryConfig.IndexConfigs).filter((c) => !c.Secure).map((c) => c.Name), ...i.RegistryConfig.InsecureRegistryCIDRs];
  const lines = [
    'Client:',
    ` Version:    ${i.ServerVersion}`,
    ' Context:    default',
    ` Debug Mode: ${i.Debug}`,
    '',
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...i.DriverStatus.map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${i.Plugins.Volume.join(' ')}`,
    `  Network: ${i.Plugins.Network.join(' ')}`,
    `  Log: ${i.Plugins.Log.join(' ')}`,
    ` Swarm: ${i.Swarm.LocalNodeState}`,
    ` Runtimes: ${Object.keys(i.Runtimes).join(' ')}`,
    ` Default Runtime: ${i.DefaultRuntime}`,
    ...(sec.length ? [' Security Options:', ...sec] : []),
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${bytesSize(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Run Root Dir: ${i.RunRoot}`,
    ` Debug Mode: ${i.Debug}`,
    ` Experimental: ${i.ExperimentalBuild}`,
    ' Insecure Registries:',
    ...insecure.map((r) => `  ${r}`),
    ...(i.RegistryConfig.Mirrors.length ? [' Registry Mirrors:', ...i.RegistryConfig.Mirrors.map((m) => `  ${m}`)] : []),
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
  ];
  return `${lines.join('\n')}\n\n`;
}
