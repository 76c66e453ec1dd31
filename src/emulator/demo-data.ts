import { mulberry32, pick, randomHex, randomInt, randomUuid, type Random } from './prng.js';
import { type SessionRecord, type SessionTokenRecord, sessionDn, userDnForInum } from './session-store.js';

/** A person whose sessions the demo data contains. */
export interface DemoUser {
  inum: string;
  dn: string;
  /** `sessionAttributes.auth_user`. */
  userName: string;
}

/** An OpenID relying party the demo sessions were started by. */
export interface DemoClient {
  clientId: string;
  redirectUri: string;
  scope: string;
}

/** Generated demo content. */
export interface DemoData {
  users: DemoUser[];
  clients: DemoClient[];
  sessions: SessionRecord[];
  tokens: SessionTokenRecord[];
}

/** Inputs of {@link generateDemoData}. */
export interface DemoDataOptions {
  seed: number;
  sessionCount: number;
  /** Reference instant; all dates are placed relative to it (truncated to whole seconds). */
  now: Date;
}

/**
 * Login names. None contains `,`, `%` or `_` (pattern and fieldValuePair syntax), none is a substring of
 * another, and each has a letter outside a-f so that no UUID or hex value can contain it.
 */
export const DEMO_USER_NAMES: readonly string[] = [
  'admin',
  'alice',
  'bruno',
  'carla',
  'diego',
  'elena',
  'farid',
  'grace',
  'hiroshi',
  'ingrid',
  'jamal',
  'kenji',
  'leila',
  'marco',
  'nadia',
  'oscar',
  'priya',
  'quentin',
  'rosa',
  'samir',
  'tomas',
  'ursula',
  'victor',
  'wanda',
  'xavier',
  'yusuf',
  'zoe',
  'amara',
  'boris',
  'chiara',
  'dmitri',
  'esther',
  'felix',
  'gloria',
  'hugo',
  'irina',
  'jonas',
  'kavya',
  'lucas',
  'mira',
];

const CLIENT_TEMPLATES: readonly { prefixed: boolean; redirectUri: string; scope: string }[] = [
  {
    prefixed: true,
    redirectUri: 'https://jans.example.org/admin',
    scope: 'openid profile email user_name jansAdminUIRole',
  },
  { prefixed: false, redirectUri: 'https://shop.example.com/oidc/callback', scope: 'openid profile email' },
  { prefixed: false, redirectUri: 'https://portal.example.net/login/callback', scope: 'openid profile' },
  { prefixed: true, redirectUri: 'https://jans.example.org/jans-casa', scope: 'openid profile user_name' },
  { prefixed: false, redirectUri: 'https://mobile.example.com/cb', scope: 'openid' },
  {
    prefixed: false,
    redirectUri: 'https://crm.example.io/auth/callback',
    scope: 'openid profile email phone',
  },
  { prefixed: true, redirectUri: 'https://wiki.example.org/oauth2/callback', scope: 'openid email' },
  { prefixed: false, redirectUri: 'https://billing.example.com/sso/return', scope: 'openid profile address' },
];

const ACRS: readonly string[] = [
  'basic',
  'basic',
  'agama_io.jans.password',
  'agama_io.jans.password',
  'passkey',
  'simple_password_auth',
];

const DAY = 86_400;
const HOUR = 3_600;

function randomIp(rng: Random): string {
  return `${randomInt(rng, 11, 223)}.${randomInt(rng, 0, 255)}.${randomInt(rng, 0, 255)}.${randomInt(rng, 1, 254)}`;
}

/** Every demo user name has a vowel, so an OAuth `state` drawn from this alphabet can never contain one. */
const STATE_ALPHABET = 'bcdfghjklmnpqrstvwxz0123456789';

function randomState(rng: Random): string {
  let s = '';
  for (let i = 0; i < 10; i++) {
    s += STATE_ALPHABET.charAt(Math.floor(rng() * STATE_ALPHABET.length));
  }
  return s;
}

/**
 * Deterministic demo sessions: same seed and same `now` give identical data. About 80% authenticated,
 * 15% already expired (not yet cleaned up), some expiring within the hour and within the day, created over
 * the last 7 days, attributes shaped like the samples in UPSTREAM-BEHAVIOUR.md §4.4 (without `agamaData`
 * and other values containing commas).
 */
export function generateDemoData(options: DemoDataOptions): DemoData {
  const rng = mulberry32(options.seed);
  const base = Math.floor(options.now.getTime() / 1000);
  const at = (epochSeconds: number): Date => new Date(epochSeconds * 1000);

  const users: DemoUser[] = DEMO_USER_NAMES.map((userName) => {
    const inum = randomUuid(rng);
    return { inum, dn: userDnForInum(inum), userName };
  });
  const clients: DemoClient[] = CLIENT_TEMPLATES.map((t) => ({
    clientId: t.prefixed ? `2000.${randomUuid(rng)}` : randomUuid(rng),
    redirectUri: t.redirectUri,
    scope: t.scope,
  }));

  const sessions: SessionRecord[] = [];
  const tokens: SessionTokenRecord[] = [];
  let statusListIndex = randomInt(rng, 1, 500);

  for (let i = 0; i < options.sessionCount; i++) {
    const jansId = randomUuid(rng);
    const sid = randomUuid(rng);
    const authenticated = rng() < 0.8;
    // Squaring skews towards the first users and clients: a few busy accounts, a long tail.
    const user = users[Math.floor(rng() * rng() * users.length)] ?? users[0];
    const client = clients[Math.floor(rng() * rng() * clients.length)] ?? clients[0];
    if (!user || !client) {
      throw new Error('demo data needs users and clients');
    }

    const bucket = rng();
    let creation: number;
    let exp: number;
    if (bucket < 0.15) {
      creation = base - randomInt(rng, 2 * HOUR, 7 * DAY);
      exp = randomInt(rng, creation + 60, base - 60);
    } else {
      creation = base - randomInt(rng, 60, 7 * DAY);
      if (bucket < 0.25) {
        exp = base + randomInt(rng, 60, HOUR - 1);
      } else if (bucket < 0.4) {
        exp = base + randomInt(rng, HOUR, DAY - 1);
      } else {
        exp = base + randomInt(rng, DAY, 7 * DAY);
      }
    }
    const lastUsed = randomInt(rng, creation, Math.min(base, exp));
    let authnTime: number | undefined;
    if (authenticated) {
      authnTime = randomInt(rng, creation, lastUsed);
    } else if (rng() < 0.5) {
      // The §4.4 unauthenticated sample carries an authenticationTime equal to its creation time.
      authnTime = creation;
    }

    const acr = pick(rng, ACRS);
    const opbs = randomUuid(rng);
    const attributes: Record<string, string> = {
      acr,
      acr_values: acr,
      client_id: client.clientId,
      opbs,
      redirect_uri: client.redirectUri,
      remote_ip: randomIp(rng),
      response_type: 'code',
      scope: client.scope,
      sid,
      auth_step: '1',
    };
    if (rng() < 0.7) {
      attributes.state = randomState(rng);
    }
    if (rng() < 0.7) {
      attributes.nonce = randomUuid(rng);
    }
    const permissions: Record<string, boolean> = { [client.clientId]: authenticated || rng() < 0.3 };
    if (authenticated) {
      attributes.auth_user = user.userName;
      attributes.successful_rp_redirect_count = '1';
      attributes[`${client.clientId}_authz_scopes`] = client.scope;
      if (rng() < 0.15) {
        const other = pick(rng, clients);
        permissions[other.clientId] = true;
      }
    }

    const record: SessionRecord = {
      jansId,
      sid,
      creationDate: at(creation),
      exp: at(exp),
      jansLastAccessTime: at(lastUsed),
      jansState: authenticated ? 'authenticated' : 'unauthenticated',
      jansSessState: `${randomHex(rng, 64)}.${randomUuid(rng)}`,
      jansPermissionGrantedMap: permissions,
      jansSessAttr: attributes,
      jansAttrs: rng() < 0.9 ? { index: statusListIndex++ } : {},
      deviceSecret: rng() < 0.05 ? [randomUuid(rng)] : [],
      del: rng() < 0.97,
    };
    if (authenticated) {
      record.jansUsrDN = user.dn;
    }
    if (authnTime !== undefined) {
      record.authnTime = at(authnTime);
    }
    if (rng() < 0.1) {
      record.jansPermissionGranted = rng() < 0.7;
    }
    sessions.push(record);

    if (authenticated) {
      const ssnId = sessionDn(record);
      tokens.push({ tknCde: randomHex(rng, 40), tknTyp: 'access_token', ssnId, clnId: client.clientId });
      tokens.push({ tknCde: randomHex(rng, 40), tknTyp: 'id_token', ssnId, clnId: client.clientId });
      if (rng() < 0.3) {
        tokens.push({ tknCde: randomHex(rng, 40), tknTyp: 'refresh_token', ssnId, clnId: client.clientId });
      }
    }
  }

  return { users, clients, sessions, tokens };
}
