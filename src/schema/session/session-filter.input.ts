import { Field, InputType } from 'type-graphql';

import { DateTimeScalar } from '../scalars.js';

import { SessionState } from './session.type.js';

const INCLUSIVE = 'Inclusive bound, as Janssen compares it.';

@InputType({
  description:
    'Every field given must match (AND). Strings match exactly, except `search`. Values Janssen cannot express ' +
    '(a comma, `=`, `<`, `>`; `%` or `_` in `search`; an empty string) are refused with BAD_USER_INPUT.',
})
export class SessionFilter {
  @Field(() => String, {
    nullable: true,
    description:
      'The user: a DN under the people base (inum=…,ou=people,o=jans; JANS_PEOPLE_BASE_DN) or a bare inum. A DN ' +
      'under another base is refused (Janssen would read it as the people-base user with that inum).',
  })
  userDn?: string | null;

  @Field(() => SessionState, { nullable: true })
  state?: SessionState | null;

  @Field(() => String, { nullable: true })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'The login name (`auth_user`).' })
  authUser?: string | null;

  @Field(() => String, { nullable: true })
  acr?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  expiresAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  expiresBefore?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  createdAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  createdBefore?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  authenticatedAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  authenticatedBefore?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  lastUsedAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: INCLUSIVE })
  lastUsedBefore?: Date | null;

  @Field(() => String, {
    nullable: true,
    description:
      "A literal substring (case-sensitive) matched against the session's user DN, sid, attributes and consents " +
      "(Janssen's `pattern`). Janssen also matches it against its internal session id, which the API never " +
      'returns, so a read (sessions, sessionsConnection, sessionStats, User.sessions) may include sessions where ' +
      'the text shows in no returned field; deleteSessions matches only sessions where it shows. Refused: blank, ' +
      'or holding `,` `%` `_` `\\` (Janssen would read a list, wildcards or an escape and match more sessions).',
  })
  search?: string | null;
}
