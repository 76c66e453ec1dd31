import { Directive, Field, ObjectType } from 'type-graphql';

/**
 * A Janssen user, owned by another subgraph (the one that serves people). This subgraph knows users only by
 * their keys and contributes their sessions. Either key can be turned into the other without an upstream call.
 */
@Directive('@key(fields: "userDn")')
@Directive('@key(fields: "inum")')
@ObjectType({
  simpleResolvers: true,
  description: 'A Janssen user; this subgraph contributes their sessions.',
})
export class User {
  @Field(() => String, { description: 'The user DN, e.g. inum=…,ou=people,o=jans.' })
  userDn!: string;

  @Field(() => String)
  inum!: string;
}
