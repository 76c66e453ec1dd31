import 'reflect-metadata';

import { ConfigError, formatEnvironmentHelp, loadConfig, withoutPassword } from './config.js';
import { createLogger } from './logger.js';
import { createServer, type ServerConfig } from './server.js';

const HELP = `jans-sessions-graphql: a GraphQL API over the Janssen config API's session endpoints.

Usage: npm start            (configuration from the environment; see README.md and .env.example)

With JANS_CONFIG_API_URL unset, an embedded Janssen emulator with demo data starts on loopback.

Environment:`;

/** Why the HTTP port could not be opened, for the errors an operator can fix with PORT or HOST. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
  ENOTFOUND: 'no such host name',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
};

/** A start-up failure with a message for the operator, printed without a stack trace. */
class StartError extends Error {
  override readonly name = 'StartError';
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(`${HELP}\n${formatEnvironmentHelp()}`);
    return;
  }
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, production: config.production });

  let serverConfig: ServerConfig;
  let stopEmulator: (() => Promise<void>) | undefined;
  if (config.upstream.configApiUrl === undefined) {
    // The emulator is only loaded for the demo: a real deployment never has it in memory.
    const { startDemoUpstream } = await import('./demo.js');
    const demo = await startDemoUpstream(config);
    const { emulator } = demo;
    stopEmulator = () => emulator.close();
    serverConfig = demo.config;
    logger.warn(
      { emulator: emulator.origin, sessions: emulator.store.all().length },
      'DEMO MODE: JANS_CONFIG_API_URL is not set, serving demo data from the embedded Janssen emulator',
    );
  } else {
    serverConfig = config as ServerConfig;
  }

  const server = await createServer(serverConfig, logger);
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === undefined ? undefined : LISTEN_ERRORS[code];
    if (reason === undefined) {
      throw error;
    }
    logger.flush();
    throw new StartError(
      `Cannot listen on ${serverConfig.host}:${serverConfig.port}: ${reason} (${code}); set PORT or HOST`,
    );
  }
  const mode = serverConfig.upstream.clientId ? 'client-credentials' : 'pass-through';
  logger.info(
    {
      url: `${url}/graphql`,
      mode,
      upstream: new URL(serverConfig.upstream.configApiUrl).origin,
      tracing: serverConfig.tracing
        ? `${withoutPassword(serverConfig.tracing.endpoint)} (${serverConfig.tracing.protocol}, ${serverConfig.tracing.sampler})`
        : 'off',
      cors: serverConfig.corsOrigins ?? 'off',
      trustedDocuments: serverConfig.trustedDocuments
        ? `${serverConfig.trustedDocuments.documents.size} from ${serverConfig.trustedDocuments.file} (${serverConfig.trustedDocuments.mode})`
        : 'off',
    },
    `GraphQL endpoint ${url}/graphql (open it in a browser for GraphiQL)`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server
      .stop()
      .then(() => stopEmulator?.())
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  if (error instanceof StartError) {
    console.error(error.message);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
