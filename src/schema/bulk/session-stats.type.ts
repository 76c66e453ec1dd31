import { Field, Int, ObjectType } from 'type-graphql';

import { DateTimeScalar } from '../scalars.js';

@ObjectType({ simpleResolvers: true, description: 'How many matching sessions share one value.' })
export class StatsBucket {
  @Field(() => String, { nullable: true, description: 'The value; null for sessions without one.' })
  key!: string | null;

  @Field(() => Int)
  count!: number;
}

@ObjectType({
  simpleResolvers: true,
  description: 'Counts over the sessions matching a filter, at `computedAt`.',
})
export class SessionStats {
  @Field(() => DateTimeScalar)
  computedAt!: Date;

  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  authenticated!: number;

  @Field(() => Int)
  unauthenticated!: number;

  @Field(() => Int, {
    description: 'Past their expiration date (Janssen keeps them until its cleaner runs).',
  })
  expired!: number;

  @Field(() => Int, { description: 'Not expired.' })
  live!: number;

  @Field(() => Int, { description: 'Live sessions that expire within the next hour.' })
  expiringWithin1h!: number;

  @Field(() => Int, { description: 'Live sessions that expire within the next 24 hours.' })
  expiringWithin24h!: number;

  @Field(() => [StatsBucket], {
    description: 'Per client id, most sessions first. Asking for it (or byAcr) reads every matching session.',
  })
  byClient!: StatsBucket[];

  @Field(() => [StatsBucket], { description: 'Per acr, most sessions first.' })
  byAcr!: StatsBucket[];
}
