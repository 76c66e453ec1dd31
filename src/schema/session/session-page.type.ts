import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

import type { PageSpec } from '../../janssen/query.js';

import { Session } from './session.type.js';

@ObjectType({ simpleResolvers: true, description: 'One page of sessions, by offset.' })
export class SessionPage {
  @Field(() => [Session])
  nodes!: Session[];

  @Field(() => Int, { description: 'Sessions matching the filter, over all pages.' })
  totalCount!: number;

  @Field(() => Int)
  offset!: number;

  @Field(() => Int)
  limit!: number;

  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;
}

/** Default page size; clamped to the upstream maximum when that is smaller. */
export const DEFAULT_PAGE_LIMIT = 50;

@InputType({ description: 'Offset paging. `limit` is 1 to the upstream maximum page size (200 by default).' })
export class PageInput {
  // No schema default: an absent limit is 50, or the upstream maximum page size when that is lower (see `toPageSpec`),
  // which a default written in the schema could not say.
  @Field(() => Int, {
    nullable: true,
    description: `Sessions per page, 1 to the maximum page size (JANS_MAX_PAGE_SIZE, 200 unless set). Absent: ${DEFAULT_PAGE_LIMIT}, or that maximum when lower.`,
  })
  limit?: number | null;

  @Field(() => Int, {
    nullable: true,
    defaultValue: 0,
    description: '0-based index of the first session of the page.',
  })
  offset?: number | null;
}

export enum SessionSortField {
  CREATION_DATE = 'CREATION_DATE',
  EXPIRATION_DATE = 'EXPIRATION_DATE',
  LAST_USED_AT = 'LAST_USED_AT',
  AUTHENTICATION_TIME = 'AUTHENTICATION_TIME',
  USER_DN = 'USER_DN',
  STATE = 'STATE',
}
registerEnumType(SessionSortField, { name: 'SessionSortField' });

export enum SortOrder {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(SortOrder, { name: 'SortOrder' });

@InputType({
  description: 'Sort order; without it Janssen orders by its internal id (stable, but arbitrary).',
})
export class SessionSort {
  @Field(() => SessionSortField)
  field!: SessionSortField;

  @Field(() => SortOrder, { nullable: true, defaultValue: SortOrder.ASC })
  order?: SortOrder | null;
}

/** The page a caller asked for, defaults applied (the default limit shrinks to a smaller upstream maximum). */
export function resolvePage(page: PageInput | null | undefined, maxPageSize: number): PageSpec {
  return { limit: page?.limit ?? Math.min(DEFAULT_PAGE_LIMIT, maxPageSize), offset: page?.offset ?? 0 };
}
