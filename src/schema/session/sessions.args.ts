import { ArgsType, Field } from 'type-graphql';

import { SessionFilter } from './session-filter.input.js';
import { PageInput, SessionSort } from './session-page.type.js';

/** `(filter, page, sort)`: the arguments of `Query.sessions` and `User.sessions`. */
@ArgsType()
export class SessionsArgs {
  @Field(() => SessionFilter, { nullable: true })
  filter?: SessionFilter | null;

  @Field(() => PageInput, { nullable: true })
  page?: PageInput | null;

  @Field(() => SessionSort, { nullable: true })
  sort?: SessionSort | null;
}
