import { Field, Int, ObjectType } from 'type-graphql';

import { Session } from './session.type.js';

@ObjectType({ simpleResolvers: true })
export class SessionEdge {
  @Field(() => String, { description: 'Opaque; valid for the same filter and sort.' })
  cursor!: string;

  @Field(() => Session)
  node!: Session;
}

@ObjectType({ simpleResolvers: true, description: 'Relay PageInfo.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A Relay connection of sessions.' })
export class SessionConnection {
  @Field(() => [SessionEdge])
  edges!: SessionEdge[];

  @Field(() => [Session], { description: 'The edges’ nodes, for clients that do not need cursors per node.' })
  nodes!: Session[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
