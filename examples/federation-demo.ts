/**
 * A supergraph on your machine: this service on demo data, a small users subgraph that owns `User`, and an
 * Apollo gateway in front of both. Run `npx tsx examples/federation-demo.ts`, then query the gateway.
 */
import 'reflect-metadata';

import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

import { loadConfig } from '../src/config.js';
import { startDemoUpstream } from '../src/demo.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';

import { startUsersSubgraph, usersOf } from './users-subgraph.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const { emulator, config: demoConfig } = await startDemoUpstream(config);
const sessions = await createServer(
  demoConfig,
  createLogger({ level: demoConfig.logLevel, production: false }),
);
const sessionsUrl = await sessions.listen(0, '127.0.0.1');
const users = await startUsersSubgraph(usersOf(emulator.store));

const gateway = new ApolloServer({
  gateway: new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: [
        { name: 'sessions', url: `${sessionsUrl}/graphql` },
        { name: 'users', url: users.url },
      ],
    }),
  }),
});
const port = Number(process.env.GATEWAY_PORT ?? 4100);
const { url } = await startStandaloneServer(gateway, { listen: { port, host: '127.0.0.1' } });
console.log(`gateway:           ${url}`);
console.log(`sessions subgraph: ${sessionsUrl}/graphql`);
console.log(`users subgraph:    ${users.url}`);

const stop = async () => {
  await gateway.stop();
  await users.stop();
  await sessions.stop();
  await emulator.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
