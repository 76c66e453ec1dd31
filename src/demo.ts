import type { Config } from './config.js';
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator/emulator.js';
import type { ServerConfig } from './server.js';

/** `config` pointed at an emulator in client-credentials mode, with the emulator's own client. */
export function configForEmulator(config: Config, emulator: Emulator): ServerConfig {
  return {
    ...config,
    upstream: {
      ...config.upstream,
      configApiUrl: emulator.configApiUrl,
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
    },
  };
}

/**
 * The embedded demo: a Janssen emulator with demo data on loopback, and the service configured against it in
 * client-credentials mode with the emulator's own client.
 */
export async function startDemoUpstream(
  config: Config,
  options: EmulatorOptions = {},
): Promise<{ emulator: Emulator; config: ServerConfig }> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, maxRecordedRequests: 1000, ...options });
  return { emulator, config: configForEmulator(config, emulator) };
}
