import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

import { DateTimeScalar, type Instant, JSONObjectScalar } from '../scalars.js';

/** Values equal Janssen's wire values, so no mapping is needed either way. */
export enum SessionState {
  AUTHENTICATED = 'authenticated',
  UNAUTHENTICATED = 'unauthenticated',
}
registerEnumType(SessionState, {
  name: 'SessionState',
  description: 'Whether the user finished authenticating in this session.',
});

@Directive('@key(fields: "sid")')
// simpleResolvers: these fields are plain properties, so graphql-js reads them directly instead of through a
// type-graphql middleware wrapper per field (the same on every object type here).
@ObjectType({ simpleResolvers: true, description: 'A login session of the Janssen auth server.' })
export class Session {
  @Field(() => ID, { description: "The public session id (Janssen's `outsideSid`)." })
  sid!: string;

  @Field(() => String, {
    nullable: true,
    description: 'DN of the user; absent until the user authenticates.',
  })
  userDn?: string | null;

  @Field(() => String, { nullable: true, description: 'The inum taken from `userDn`.' })
  userInum?: string | null;

  @Field(() => SessionState)
  state!: SessionState;

  @Field(() => String, { nullable: true, description: 'The OpenID Connect `session_state`.' })
  sessionState?: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  authenticationTime?: Instant | null;

  @Field(() => DateTimeScalar, { nullable: true })
  creationDate?: Instant | null;

  @Field(() => DateTimeScalar, { nullable: true })
  lastUsedAt?: Instant | null;

  @Field(() => DateTimeScalar, { nullable: true })
  expirationDate?: Instant | null;

  @Field(() => Boolean, {
    description:
      'True when `expirationDate` has passed. Janssen keeps expired sessions until its cleaner runs.',
  })
  expired!: boolean;

  @Field(() => Boolean, { nullable: true })
  deletable?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  permissionGranted?: boolean | null;

  @Field(() => JSONObjectScalar, {
    nullable: true,
    description:
      'Consent per client id, e.g. {"<clientId>": true} (Janssen `permissionGrantedMap.permissionGranted`).',
  })
  permissionGrantedMap?: Record<string, boolean> | null;

  @Field(() => JSONObjectScalar, {
    nullable: true,
    description: 'All session attributes as Janssen returns them (string values).',
  })
  sessionAttributes?: Record<string, string> | null;

  @Field(() => String, { nullable: true, description: 'The `client_id` session attribute.' })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'The `auth_user` session attribute (the login name).' })
  authUser?: string | null;

  @Field(() => String, { nullable: true, description: 'The `acr` session attribute.' })
  acr?: string | null;

  @Field(() => String, { nullable: true, description: 'The OP browser state (`opbs`).' })
  opbrowserState?: string | null;

  @Field(() => [String], { nullable: true })
  deviceSecrets?: string[] | null;
}
