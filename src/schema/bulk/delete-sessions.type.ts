import { Field, ID, Int, ObjectType } from 'type-graphql';

import { Session } from '../session/session.type.js';

@ObjectType({ simpleResolvers: true, description: 'A session that could not be deleted.' })
export class DeleteSessionFailure {
  @Field(() => ID)
  sid!: string;

  @Field(() => String, {
    description: 'A stable error code, e.g. NOT_FOUND (already gone) or UPSTREAM_ERROR.',
  })
  code!: string;

  @Field(() => String)
  message!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'What is known of the change, as `extensions.outcome` of a failed deleteSession: NOT_APPLIED (nothing was ' +
      "changed, deleting again is safe) or UNKNOWN (Janssen's answer was lost and checking failed too: the " +
      'session may be deleted). Null for NOT_FOUND.',
  })
  outcome?: string | null;
}

@ObjectType({ simpleResolvers: true })
export class DeleteSessionsPayload {
  @Field(() => Int, {
    description:
      'Sessions matching the filter when it ran (with `search`: those where the text shows). When truncated ' +
      'with `search`, at most this many: the matches past `max` were not all read.',
  })
  matched!: number;

  @Field(() => Int, { description: 'Sessions deleted (0 in a dry run).' })
  deleted!: number;

  @Field(() => [DeleteSessionFailure])
  failed!: DeleteSessionFailure[];

  @Field(() => Boolean)
  dryRun!: boolean;

  @Field(() => Boolean, { description: 'True when more than `max` matched: then nothing is deleted.' })
  truncated!: boolean;

  @Field(() => [Session], {
    description: 'The matched sessions (deleted, or to be deleted in a dry run); empty when truncated.',
  })
  sessions!: Session[];
}
